"""MQTT edge cases through the real Mosquitto and store
(SPEC I1): what the quarantine says of a topic that names no vehicle, an unknown
vehicle, an empty message. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from mqtt_support import Publisher, base_config, running_worker, unique, wait_until
from sqlalchemy import Engine

from carprivacy.bootstrap import Services, bootstrap
from carprivacy.config import Settings, load_settings

pytestmark = pytest.mark.mqtt

UNKNOWN_VIN = "WMWUNKNWN00000001"


@pytest.fixture
def container(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[Services]:
    yield bootstrap(load_settings(data_dir=tmp_path, database_url=db_url), engine=engine)


def reasons(container: Services) -> list[tuple[str, str]]:
    return sorted((p.path, p.rule) for row in container.telemetry.quarantine() for p in row.reasons)


def publish_all(container: Services, broker: tuple[str, int], messages: list[tuple[str, bytes]]):
    host, port = broker
    base = unique()
    pub = Publisher(host, port)
    try:
        with running_worker(base_config(host, port, base), container.ingest) as worker:
            for level, payload in messages:
                pub.publish(f"{base}/{level}/telemetry", payload).wait_for_publish(10)
            assert wait_until(lambda: worker.stats.acked == len(messages), timeout=20)
            return worker.stats
    finally:
        pub.close()


def test_a_topic_without_a_vin_is_a_topic_problem_an_unknown_vin_a_vehicle_one(
    container: Services, mqtt_broker: tuple[str, int]
) -> None:
    ts = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    one = json.dumps([{"signal": "Vehicle.Speed", "value": 50.0, "ts": ts}]).encode()
    stats = publish_all(container, mqtt_broker, [("NOTAVIN", one), (UNKNOWN_VIN, one)])
    assert (stats.quarantined, stats.rejected) == (1, 1)
    assert reasons(container) == [("records[0].vin", "known_vehicle"), ("topic", "vin")]
    [topic_row] = [r for r in container.telemetry.quarantine() if r.record_index is None]
    assert topic_row.vehicle_id is None
    assert "NOTAVIN" not in topic_row.reasons[0].message


def test_an_empty_message_is_quarantined_as_empty(
    container: Services, mqtt_broker: tuple[str, int]
) -> None:
    stats = publish_all(container, mqtt_broker, [("WMWHT000000000001", b"")])
    assert stats.quarantined == 1
    assert reasons(container) == [("payload", "empty")]
    [row] = container.telemetry.quarantine()
    assert row.reasons[0].message.startswith("the message is empty")


def test_the_payload_limit_setting_applies_to_the_mqtt_worker(
    container: Services, db_url: str, tmp_path: Path, mqtt_broker: tuple[str, int]
) -> None:
    """CARPRIVACY_MAX_PAYLOAD_BYTES bounds MQTT messages too, as its description says."""
    description = Settings.model_fields["max_payload_bytes"].description or ""
    assert "POST /v1/telemetry" in description and "MQTT message" in description
    host, port = mqtt_broker
    base = unique()
    env = {
        **os.environ,
        "CARPRIVACY_DATABASE_URL": db_url,
        "CARPRIVACY_DATA_DIR": str(tmp_path),
        "CARPRIVACY_MAX_PAYLOAD_BYTES": "300",
        "PYTHONUNBUFFERED": "1",
    }
    log = tmp_path / "worker.log"
    args = ["--host", host, "--port", str(port), "--topic", f"{base}/+/telemetry", "--no-group"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "carprivacy.entrypoints.cli.main", "ingest", "mqtt", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    pub = Publisher(host, port)
    try:
        deadline = time.monotonic() + 60
        while b"subscribed to" not in log.read_bytes():
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        big = json.dumps([{"signal": "Vehicle.Speed", "value": 1.0, "ts": "x" * 300}]).encode()
        pub.publish(f"{base}/WMWHT000000000001/telemetry", big).wait_for_publish(10)
        assert wait_until(lambda: len(container.telemetry.quarantine()) == 1, timeout=30)
    finally:
        pub.close()
        process.send_signal(signal.SIGTERM)
        process.wait(20)
    [row] = container.telemetry.quarantine()
    assert [(p.path, p.rule) for p in row.reasons] == [("payload", "size")]
    assert "300 bytes" in row.reasons[0].message
