"""Nothing the broker acknowledged is lost: the worker paused and killed in a burst (SPEC I1, I3).

A publisher sends a burst of QoS 1 messages through a Mosquitto running the project's configuration
(deploy/mosquitto/ci.conf) and records which ones the broker acknowledged (PUBACK). Meanwhile the
worker (``carprivacy ingest mqtt``, a subprocess with a 2 s keep-alive) is paused with SIGSTOP long
enough for the broker to drop its connection (the burst then queues in its offline session), resumed
with SIGCONT, killed with SIGKILL and started again. At the end every acknowledged record is stored
exactly once, with the value that was sent (decrypted where it is encrypted at rest).

The default run sends 4,000 messages, paced over ~5 s, so that the pause and the kill land inside
the burst. The full burst of 50,000 messages, published as fast as the broker acknowledges them:

    CARPRIVACY_TEST_BURST=50000 pytest tests/e2e/test_mqtt_burst.py
"""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine, func, select
from tests.conftest import ProjectBroker
from tests.e2e.processes import Worker, stored, stored_values

from carprivacy.adapters.db.tables.telemetry import telemetry_quarantine
from carprivacy.bootstrap import bootstrap
from carprivacy.config import load_settings
from carprivacy.entrypoints.cli.commands.simulate import register_demo_fleet
from carprivacy.services.demo.simulation import demo_vins

pytestmark = pytest.mark.mqtt

SIGNALS = ("Vehicle.Speed", "Vehicle.TraveledDistance", "Vehicle.Exterior.AirTemperature")
BURST = int(os.environ.get("CARPRIVACY_TEST_BURST", "4000"))
PACED_RATE = 800.0 if BURST <= 10_000 else None  # messages/s; None: as fast as acknowledged
PAUSE_S = 4.0  # > 1.5 x the 2 s keep-alive: the broker drops the paused worker's connection

Key = tuple[str, str, datetime]  # vin, signal, ts


def message(i: int, start: datetime, vins: list[str]) -> tuple[str, list[dict[str, object]]]:
    """Message i: 1 to 3 records of one vehicle, each key (vin, signal, ts) unique in the burst."""
    ts = (start + timedelta(milliseconds=50 * i)).isoformat()
    values: dict[str, object] = {
        SIGNALS[0]: float(i % 200),
        SIGNALS[1]: 1000 + i,
        SIGNALS[2]: i % 40 - 5.5,
    }
    signals = SIGNALS[: 1 + i % len(SIGNALS)]
    return vins[i % len(vins)], [{"signal": s, "value": values[s], "ts": ts} for s in signals]


@dataclass
class Burst:
    """A QoS 1 publisher that remembers, per message, whether the broker acknowledged it."""

    host: str
    port: int
    base: str
    vins: list[str]
    start: datetime
    infos: list[tuple[int, mqtt.MQTTMessageInfo]] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)
    published: int = 0

    def __post_init__(self) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"{self.base}-pub", protocol=mqtt.MQTTv5
        )
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)

        def on_publish(c: mqtt.Client, u: object, mid: int, reason: object, p: object) -> None:
            if getattr(reason, "is_failure", False):
                self.refused.append(mid)

        self.client.on_publish = on_publish
        self.client.connect(self.host, self.port)
        self.client.loop_start()

    def run(self, count: int, rate: float | None) -> None:
        began = time.monotonic()
        for i in range(count):
            if rate is not None:
                ahead = began + i / rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
            vin, records = message(i, self.start, self.vins)
            info = self.client.publish(f"{self.base}/{vin}/telemetry", json.dumps(records), qos=1)
            self.infos.append((i, info))
            self.published = i + 1

    def acknowledged(self) -> set[int]:
        for _, info in self.infos:
            if not info.is_published():
                info.wait_for_publish(60)
        return {i for i, info in self.infos if info.is_published()}

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def worker_env(db_url: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    env = dict(os.environ)
    env.update(
        CARPRIVACY_DATABASE_URL=db_url, CARPRIVACY_DATA_DIR=str(tmp_path), PYTHONUNBUFFERED="1"
    )
    yield env


def test_every_acknowledged_message_is_stored_once_despite_sigstop_and_sigkill(
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
    base = f"burst{rng.randrange(16**8):08x}"
    worker = Worker(
        worker_env,
        [
            "--topic", f"{base}/+/telemetry",
            "--client-id", f"{base}-worker",
            "--host", host,
            "--port", str(port),
            "--batch-size", "500",
            "--batch-ms", "50",
            "--session-expiry", "600",
            "--keepalive", "2",
            "--quiet",
        ],
        tmp_path,
    )  # fmt: skip
    worker.start()
    worker.wait_subscribed()  # the persistent session exists before anything is published
    burst = Burst(host, port, base, vins, datetime.now(UTC) - timedelta(hours=1))
    sender = threading.Thread(target=burst.run, args=(BURST, PACED_RATE), daemon=True)
    events: dict[str, int] = {}
    try:
        sender.start()
        while burst.published < BURST // 10:
            time.sleep(0.01)
        assert worker.process is not None
        worker.process.send_signal(signal.SIGSTOP)
        events["paused at message"] = burst.published
        time.sleep(PAUSE_S)
        events["resumed at message"] = burst.published
        before = stored(engine)
        worker.process.send_signal(signal.SIGCONT)
        deadline = time.monotonic() + 30
        while stored(engine) == before and time.monotonic() < deadline:
            time.sleep(0.005)  # kill it as soon as it drains the backlog (batches of 500)
        events["killed at message"] = burst.published
        events["stored when killed"] = stored(engine)
        worker.kill()
        time.sleep(0.5)
        worker.start()
        sender.join(300)
        assert not sender.is_alive(), "the publisher did not finish"
        acked = burst.acknowledged()
        expected = {
            (vin, r["signal"], datetime.fromisoformat(str(r["ts"]))): float(r["value"])  # type: ignore[arg-type]
            for i in acked
            for vin, records in [message(i, burst.start, vins)]
            for r in records
        }
        last, since = -1, time.monotonic()
        while (n := stored(engine)) < len(expected) and time.monotonic() - since < 60:
            if n != last:
                last, since = n, time.monotonic()
            time.sleep(0.2)
        time.sleep(1.0)  # anything more would be a duplicate: give it the chance to show
        worker.wait_subscribed()
        assert worker.stop() == 0
    finally:
        burst.close()
        if worker.process is not None and worker.process.poll() is None:
            worker.kill()

    assert events["paused at message"] < BURST, f"the pause came after the burst: {events}"
    assert events["stored when killed"] < len(expected), f"the kill came too late: {events}"
    assert burst.refused == []
    assert len(acked) == BURST, "the broker acknowledged every message of the burst"
    with engine.connect() as conn:
        quarantined = conn.execute(
            select(func.count()).select_from(telemetry_quarantine)
        ).scalar_one()
    assert quarantined == 0, "every record sent is valid and none came back with another value"
    got = {
        k: [float(x) for x in v]  # type: ignore[arg-type]
        for k, v in stored_values(container, vins).items()
    }
    container.close()
    duplicates = {k: v for k, v in got.items() if len(v) != 1}
    assert duplicates == {}
    missing = expected.keys() - got.keys()
    logs = "\n".join(
        f"{log.name}: {log.read_text(errors='replace')[-2000:]}"
        for log in sorted(tmp_path.glob("worker-*.log"))
    )
    assert not missing, f"{len(missing)} acknowledged records not stored; {events}\n{logs}"
    assert {k: v[0] for k, v in got.items()} == expected, "every acknowledged record, its value"
    assert stored(engine) == len(expected)
    if project_broker.process is not None:
        assert project_broker.process.dropped() == 0
