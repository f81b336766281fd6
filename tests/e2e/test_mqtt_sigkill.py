"""SIGKILL the MQTT worker at random moments during ingestion (SPEC I1).

``carprivacy ingest mqtt`` runs as a subprocess while a publisher sends QoS 1 messages through a
real Mosquitto with the project's configuration (deploy/mosquitto/ci.conf). The worker is killed
with SIGKILL at random moments (at least 10 times) and started again with the same client id: its
persistent session keeps every message it had not acknowledged, and the broker sends those again.
At the end every published record is stored exactly once.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine, func, select
from tests.conftest import ProjectBroker
from tests.e2e.processes import Worker, stored

from carprivacy.adapters.db.tables.telemetry import telemetry, telemetry_quarantine
from carprivacy.bootstrap import bootstrap
from carprivacy.config import load_settings
from carprivacy.entrypoints.cli.commands.simulate import register_demo_fleet
from carprivacy.services.demo.simulation import demo_vins

pytestmark = pytest.mark.mqtt

# a steady stream of at most this many messages; the broker runs the project's configuration,
# whose queue holds a killed worker's backlog (the stock one would drop beyond 1,000)
MAX_MESSAGES = 1800
KILLS = 10
SIGNALS = ("Vehicle.Speed", "Vehicle.TraveledDistance", "Vehicle.Exterior.AirTemperature")


@pytest.fixture
def worker_env(db_url: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    env = dict(os.environ)
    env.update(
        CARPRIVACY_DATABASE_URL=db_url,
        CARPRIVACY_DATA_DIR=str(tmp_path),
        PYTHONUNBUFFERED="1",
    )
    yield env


def test_every_record_is_stored_exactly_once_despite_sigkill(
    engine: Engine,
    db_url: str,
    tmp_path: Path,
    worker_env: dict[str, str],
    project_broker: ProjectBroker,
) -> None:
    host, port = project_broker.host, project_broker.port
    rng = random.Random()
    container = bootstrap(load_settings(data_dir=tmp_path, database_url=db_url), engine=engine)
    vins = register_demo_fleet(container, demo_vins(5, seed=rng.randrange(10**6)))
    base = f"kill{rng.randrange(16**8):08x}"
    worker = Worker(
        worker_env,
        [
            "--topic", f"{base}/+/telemetry",
            "--client-id", f"{base}-worker",
            "--host", host,
            "--port", str(port),
            "--batch-size", "40",
            "--batch-ms", "30",
            "--session-expiry", "600",
            "--quiet",
        ],
        tmp_path,
    )  # fmt: skip
    worker.start()
    worker.wait_subscribed()  # the persistent session exists before anything is published

    start = datetime.now(UTC) - timedelta(hours=1)
    publisher = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"{base}-pub", protocol=mqtt.MQTTv5
    )
    publisher.max_inflight_messages_set(100)
    publisher.connect(host, port)
    publisher.loop_start()
    kills_done = threading.Event()
    sent = {"messages": 0, "records": 0}

    def publish_until_the_kills_are_done() -> None:
        i = 0
        while not kills_done.is_set() and i < MAX_MESSAGES:
            ts = (start + timedelta(seconds=i)).isoformat()
            values = {SIGNALS[0]: float(i % 120), SIGNALS[1]: 1000 + i, SIGNALS[2]: i % 40 - 5.5}
            records = [
                {"signal": s, "value": values[s], "ts": ts} for s in SIGNALS[: 1 + i % len(SIGNALS)]
            ]
            topic = f"{base}/{vins[i % len(vins)]}/telemetry"
            publisher.publish(topic, json.dumps(records), qos=1).wait_for_publish(30)
            sent["messages"] += 1
            sent["records"] += len(records)
            i += 1
            time.sleep(0.03)  # a steady stream: every kill lands while records flow

    sender = threading.Thread(target=publish_until_the_kills_are_done, daemon=True)
    sender.start()
    progress = []
    try:
        for _ in range(KILLS):
            worker.wait_subscribed()
            time.sleep(rng.uniform(0.0, 0.5))
            worker.kill()
            progress.append(stored(engine))
            worker.start()
        kills_done.set()
        sender.join(30)
        assert not sender.is_alive(), "the publisher did not finish"
        expected = sent["records"]
        deadline = time.monotonic() + 40
        while stored(engine) < expected and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(0.5)  # anything more would be a duplicate: give it the chance to show
        worker.wait_subscribed()
        assert worker.stop() == 0
    finally:
        kills_done.set()
        publisher.disconnect()
        publisher.loop_stop()
        if worker.process is not None and worker.process.poll() is None:
            worker.kill()
        container.close()

    assert worker.runs == KILLS + 1
    assert any(0 < p < expected for p in progress), f"kills during ingestion: {progress}"
    with engine.connect() as conn:
        quarantined = conn.execute(
            select(func.count()).select_from(telemetry_quarantine)
        ).scalar_one()
    assert quarantined == 0, "every record sent is valid"
    assert stored(engine) == expected, "every published record exactly once"
    with engine.connect() as conn:
        distinct = conn.execute(
            select(func.count()).select_from(
                select(telemetry.c.vehicle_id, telemetry.c.signal, telemetry.c.ts)
                .distinct()
                .subquery()
            )
        ).scalar_one()
    assert distinct == expected
