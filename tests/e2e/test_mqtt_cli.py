"""``carprivacy simulate`` and ``carprivacy ingest mqtt`` as a new user runs them.

The "done when" path: the simulator feeds a registered fleet through the real Mosquitto into a
running worker, and the records arrive in the database attributed to their owners; bad options are
refused with the field and the rule.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from carprivacy.adapters.db.tables.master import vehicles
from carprivacy.adapters.db.tables.telemetry import telemetry
from carprivacy.adapters.mqtt.worker import MqttIngestWorker, MqttWorkerConfig
from carprivacy.bootstrap import bootstrap
from carprivacy.config import load_settings
from carprivacy.entrypoints.cli.main import app

runner = CliRunner()


@pytest.fixture
def env(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    yield {"CARPRIVACY_DATABASE_URL": db_url, "CARPRIVACY_DATA_DIR": str(tmp_path)}


def stored(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(telemetry)).scalar_one())


def test_simulate_to_db_registers_a_fleet_and_stores_everything(
    engine: Engine, env: dict[str, str]
) -> None:
    result = runner.invoke(
        app, ["simulate", "--vehicles", "4", "--minutes", "5", "--to", "db", "--register"], env=env
    )
    assert result.exit_code == 0, result.output
    found = re.search(r"sent \d+ messages, (\d+) records", result.output)
    assert found is not None, result.output
    sent = int(found.group(1))
    assert sent > 0
    assert f"accepted {sent}, rejected 0" in result.output
    assert stored(engine) == sent


def test_simulate_without_a_fleet_reports_unknown_vehicles(
    engine: Engine, env: dict[str, str]
) -> None:
    result = runner.invoke(
        app,
        ["simulate", "--vehicles", "2", "--minutes", "2", "--to", "db", "--no-register"],
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert "simulating 2 unregistered vehicles" in result.stdout
    assert "accepted 0" in result.output and "[known_vehicle]" in result.output
    assert stored(engine) == 0


@pytest.mark.mqtt
def test_simulate_to_mqtt_reaches_the_database_through_the_worker(
    engine: Engine, env: dict[str, str], db_url: str, tmp_path: Path, mqtt_broker: tuple[str, int]
) -> None:
    host, port = mqtt_broker
    base = f"cli{uuid.uuid4().hex[:10]}"
    registered = runner.invoke(
        app, ["simulate", "--vehicles", "5", "--minutes", "1", "--to", "db", "--register"], env=env
    )
    assert registered.exit_code == 0, registered.output
    before = stored(engine)
    container = bootstrap(load_settings(data_dir=tmp_path, database_url=db_url), engine=engine)
    config = MqttWorkerConfig(
        host=host, port=port, topic=f"{base}/+/telemetry", group=None, client_id=f"{base}-w",
        batch_size=200, batch_ms=50, session_expiry_s=60,
    )  # fmt: skip
    worker = MqttIngestWorker(config, container.ingest)
    worker.start()
    assert worker.wait_subscribed(10)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        result = runner.invoke(
            app,
            ["simulate", "--vehicles", "5", "--minutes", "10", "--to", "mqtt", "--seed", "3",
             "--host", host, "--port", str(port)],
            env={**env, "CARPRIVACY_MQTT_TOPIC": f"{base}/+/telemetry"},
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        found = re.search(r"sent (\d+) messages, (\d+) records", result.output)
        assert found is not None, result.output
        messages, records = int(found.group(1)), int(found.group(2))
        deadline_ok = _wait(lambda: worker.stats.acked >= messages)
        assert deadline_ok, worker.stats.summary()
    finally:
        worker.request_stop()
        thread.join(15)
        container.close()
    assert worker.stats.rejected == 0 and worker.stats.quarantined == 0
    assert stored(engine) - before == records


def _wait(predicate: Callable[[], bool], timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--topic", "vehicles/#/telemetry"], "topic"),
        (["--group", "a/b"], "group"),
        (["--tls-cert", "client.pem"], "tls_cert"),
        (["--batch-size", "0"], "batch-size"),
    ],
)
def test_ingest_mqtt_refuses_bad_options_naming_them(
    args: list[str], expected: str, tmp_path: Path
) -> None:
    result = runner.invoke(
        app, ["ingest", "mqtt", *args], env={"CARPRIVACY_DATA_DIR": str(tmp_path)}
    )
    assert result.exit_code == 2
    assert expected in result.output


def test_simulate_to_http_posts_with_issued_vehicle_credentials(
    engine: Engine, env: dict[str, str], db_url: str, tmp_path: Path
) -> None:
    import socket

    import uvicorn

    from carprivacy.entrypoints.api.app import create_app

    registered = runner.invoke(
        app, ["simulate", "--vehicles", "3", "--minutes", "1", "--to", "db", "--register"], env=env
    )
    assert registered.exit_code == 0, registered.output
    before = stored(engine)
    container = bootstrap(load_settings(data_dir=tmp_path, database_url=db_url), engine=engine)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(container), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        assert _wait(lambda: server.started, timeout=20)
        result = runner.invoke(
            app,
            ["simulate", "--vehicles", "3", "--minutes", "5", "--to", "http", "--seed", "4",
             "--url", f"http://127.0.0.1:{port}", "--batch-records", "200"],
            env=env,
        )  # fmt: skip
    finally:
        server.should_exit = True
        thread.join(15)
        container.close()
    assert result.exit_code == 0, result.output
    found = re.search(r"sent \d+ messages, (\d+) records", result.output)
    assert found is not None, result.output
    sent = int(found.group(1))
    assert f"accepted {sent}, rejected 0" in result.output
    assert stored(engine) - before == sent


def test_simulate_n_vehicles_means_n_registering_the_missing_by_default(
    engine: Engine, env: dict[str, str]
) -> None:
    """``--vehicles N`` simulates N vehicles, registering the
    missing ones with demo owners, and says so on stdout; ``--no-register`` uses only those
    registered."""
    base = ["simulate", "--minutes", "0.5", "--to", "db", "--seed", "3"]
    first = runner.invoke(app, [*base, "--vehicles", "2"], env=env)
    assert first.exit_code == 0, first.output
    assert "simulating 2 vehicles: 0 registered, 2 newly registered" in first.stdout
    more = runner.invoke(app, [*base, "--vehicles", "5"], env=env)
    assert more.exit_code == 0, more.output
    assert "simulating 5 vehicles: 2 registered, 3 newly registered" in more.stdout
    assert re.search(r"from 5 vehicles", more.stdout)
    assert "rejected 0" in more.stdout
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(vehicles)).scalar_one() == 5
    only = runner.invoke(app, [*base, "--vehicles", "8", "--no-register"], env=env)
    assert only.exit_code == 0, only.output
    assert "simulating 5 registered vehicles, not 8" in only.stdout
    assert re.search(r"from 5 vehicles", only.stdout)


def test_simulate_refuses_a_topic_without_a_vin_level(env: dict[str, str]) -> None:
    result = runner.invoke(
        app,
        ["simulate", "--vehicles", "1", "--minutes", "0.5", "--topic", "cars/telemetry"],
        env=env,
    )
    assert result.exit_code != 0
    assert "--topic" in result.output and "'+' level" in result.output


@pytest.mark.mqtt
def test_ingest_mqtt_warns_at_start_about_the_brokers_queue_limit(
    engine: Engine, db_url: str, tmp_path: Path, mqtt_broker: tuple[str, int]
) -> None:
    """Mosquitto drops messages beyond max_queued_messages while
    the worker is down; the worker says so in one line at start-up, even with --quiet."""
    host, port = mqtt_broker
    base = f"warn{uuid.uuid4().hex[:10]}"
    env = {
        **os.environ,
        "CARPRIVACY_DATABASE_URL": db_url,
        "CARPRIVACY_DATA_DIR": str(tmp_path),
        "PYTHONUNBUFFERED": "1",
    }
    log = tmp_path / "worker.log"
    args = ["--host", host, "--port", str(port), "--topic", f"{base}/+/telemetry", "--quiet"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "carprivacy.entrypoints.cli.main", "ingest", "mqtt", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while b"subscribed to" not in log.read_bytes():
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(20)
    lines = log.read_text().splitlines()
    warnings = [line for line in lines if "max_queued_messages" in line]
    assert len(warnings) == 1, lines
    assert "drops" in warnings[0].lower() and "docs/mqtt.md" in warnings[0]
    assert lines.index(warnings[0]) < next(i for i, x in enumerate(lines) if "subscribed" in x)
