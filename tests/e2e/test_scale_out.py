"""Two API processes and two ingest workers against one PostgreSQL (SPEC I1, U1, U3;
docs/scaling.md).

Real processes: ``carprivacy serve --workers 2`` (A) and ``carprivacy serve`` (B) on their own
loopback ports, and two ``carprivacy ingest mqtt`` workers sharing one subscription group
(``$share/<group>/...``) through the real Mosquitto; all four over one PostgreSQL schema and one
data directory (the key files). The test finds that

- records sent over HTTP to A and to B and over MQTT are each stored exactly once, and both MQTT
  workers took part (the broker split the stream between them);
- failed logins spread over both API processes pause the name in both;
- denied reads spread over the three API processes count as one burst (one denied_burst alert
  of 10): monitoring's windows are in the database;
- any process answers a read of what another stored: a caller created through A logs in through
  B, and the telemetry stored by A, B and the workers reads back the same, in full, from A and B.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine, func, select

from carprivacy.adapters.db.tables.access import alerts
from carprivacy.adapters.db.tables.telemetry import telemetry, telemetry_quarantine
from carprivacy.bootstrap import bootstrap
from carprivacy.config import load_settings
from carprivacy.domain.master import ContactDetails, UsageKind

pytestmark = [pytest.mark.mqtt, pytest.mark.postgres]

CARPRIVACY = [sys.executable, "-m", "carprivacy.entrypoints.cli.main"]
VINS = [f"WMWSCALE{n:09d}" for n in range(4)]
SIGNALS = ("Vehicle.Speed", "Vehicle.TraveledDistance", "Vehicle.Exterior.AirTemperature")
HTTP_BATCHES = 40  # per API process
MQTT_MESSAGES = 400
PASSWORD = "a long scale-out passphrase"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Process:
    def __init__(self, name: str, args: list[str], env: dict[str, str], logs: Path) -> None:
        self.log = logs / f"{name}.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [*CARPRIVACY, *args], env=env, stdout=out, stderr=subprocess.STDOUT
            )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, check: Any, what: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            assert self.process.poll() is None, f"{what}: exited\n{self.text()}"
            time.sleep(0.1)
        raise AssertionError(f"{what}: timed out\n{self.text()}")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.returncode


class Api:
    def __init__(self, name: str, env: dict[str, str], logs: Path, workers: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = Process(
            name, ["serve", "--port", str(self.port), "--workers", str(workers)], env, logs
        )
        self.client = httpx.Client(base_url=self.url, timeout=60)
        self.proc.wait_for(self._healthy, f"{name} /health")

    def _healthy(self) -> bool:
        try:
            return self.client.get("/health").status_code == 200
        except httpx.HTTPError:
            return False


def records_of(n: int, start: datetime) -> list[dict[str, Any]]:
    ts = (start + timedelta(seconds=n)).isoformat()
    values = {SIGNALS[0]: float(n % 120), SIGNALS[1]: 1000 + n, SIGNALS[2]: n % 40 - 5.5}
    return [{"signal": s, "value": values[s], "ts": ts} for s in SIGNALS]


@pytest.fixture
def pg_url(db_url: str) -> str:
    if not db_url.startswith("postgresql"):
        pytest.skip("the scale-out demonstration runs on PostgreSQL")
    return db_url


@pytest.fixture
def stack(
    engine: Engine, pg_url: str, tmp_path: Path, mqtt_broker: tuple[str, int]
) -> Iterator[dict[str, Any]]:
    data_dir = tmp_path / "data"
    env = dict(os.environ)
    env.update(
        CARPRIVACY_DATABASE_URL=pg_url,
        CARPRIVACY_DATA_DIR=str(data_dir),
        CARPRIVACY_ARGON2_TIME_COST="1",
        CARPRIVACY_ARGON2_MEMORY_KIB="8",
        PYTHONUNBUFFERED="1",
    )
    settings = load_settings(data_dir=data_dir, database_url=pg_url)
    container = bootstrap(settings, engine=engine)
    since = datetime.now(UTC) - timedelta(days=30)
    owners: dict[str, str] = {}
    tokens: dict[str, str] = {}
    for n, vin in enumerate(VINS):
        owner = container.master.register_customer(
            ContactDetails(f"Schaal{n}", "Eva", "Gracht", str(n + 1), "3511 AB", "Utrecht", "NL")
        )
        vehicle = container.master.register_vehicle(vin, "MINI Cooper SE", "green")
        container.master.add_usage(vehicle.id, UsageKind.OWNER, since, customer_id=owner.id)
        container.master.conclude_contract(owner.id, vehicle.id, since, ["teleservices"])
        owners[vin] = owner.id
        tokens[vin] = container.vehicle_credentials.issue(vehicle.id, vin).token
    host, port = mqtt_broker
    base = f"scale{random.randrange(16**8):08x}"
    started: list[Process] = []
    apis: list[Api] = []
    try:
        apis.append(Api("api-a", env, tmp_path, workers=2))  # makes the key files first
        apis.append(Api("api-b", env, tmp_path, workers=1))
        workers = []
        for w in ("w1", "w2"):
            args = [
                "ingest", "mqtt",
                "--topic", f"{base}/+/telemetry",
                "--group", f"{base}-ingest",
                "--client-id", f"{base}-{w}",
                "--host", host,
                "--port", str(port),
                "--batch-size", "20",
                "--batch-ms", "20",
                "--session-expiry", "600",
            ]  # fmt: skip
            worker = Process(w, args, env, tmp_path)
            started.append(worker)
            workers.append(worker)
        for worker in workers:
            worker.wait_for(lambda w=worker: "subscribed to" in w.text(), "worker subscribed")
        admin = (data_dir / "admin.token").read_text().strip()
        yield {
            "apis": apis,
            "workers": workers,
            "admin": admin,
            "owners": owners,
            "tokens": tokens,
            "base": base,
            "broker": (host, port),
            "engine": engine,
        }
    finally:
        for p in [*started, *(a.proc for a in apis)]:
            p.stop()
        for a in apis:
            a.client.close()
        container.close()


def stored(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(telemetry)).scalar_one())


def test_two_apis_and_two_workers_store_once_share_throttling_and_read_each_other(
    stack: dict[str, Any],
) -> None:
    a, b = stack["apis"]
    engine: Engine = stack["engine"]
    start = datetime.now(UTC) - timedelta(days=1)
    sent = 0
    # HTTP: batches alternate between A and B, each second a new moment per vehicle
    for n in range(HTTP_BATCHES * 2):
        vin = VINS[n % len(VINS)]
        api = a if n % 2 else b
        body = records_of(n, start)
        r = api.client.post(
            "/v1/telemetry", json=body, headers={"Authorization": f"Bearer {stack['tokens'][vin]}"}
        )
        assert r.status_code == 200 and r.json()["accepted"] == len(body), r.text
        sent += len(body)
    # the same upload again, through the other process: stored once, answered as duplicates
    again = b.client.post(
        "/v1/telemetry",
        json=records_of(1, start),
        headers={"Authorization": f"Bearer {stack['tokens'][VINS[1]]}"},
    )
    assert again.status_code == 200 and again.json()["duplicates"] == len(SIGNALS), again.text

    # MQTT: one shared subscription, two workers
    host, port = stack["broker"]
    publisher = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"{stack['base']}-pub", protocol=mqtt.MQTTv5
    )
    publisher.max_inflight_messages_set(50)
    publisher.connect(host, port)
    publisher.loop_start()
    try:
        pending = []
        for n in range(MQTT_MESSAGES):
            vin = VINS[n % len(VINS)]
            body = records_of(10_000 + n, start)
            info = publisher.publish(f"{stack['base']}/{vin}/telemetry", json.dumps(body), qos=1)
            pending.append(info)
            sent += len(body)
        for info in pending:
            info.wait_for_publish(30)
    finally:
        publisher.disconnect()
        publisher.loop_stop()
    deadline = time.monotonic() + 60
    while stored(engine) < sent and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)  # a duplicate would show now
    assert stored(engine) == sent, "every record sent over HTTP and MQTT, exactly once"
    with engine.connect() as conn:
        distinct = conn.execute(
            select(func.count()).select_from(
                select(telemetry.c.vehicle_id, telemetry.c.signal, telemetry.c.ts)
                .distinct()
                .subquery()
            )
        ).scalar_one()
        quarantined = conn.execute(
            select(func.count()).select_from(telemetry_quarantine)
        ).scalar_one()
    assert distinct == sent and quarantined == 0
    per_worker = []
    for worker in stack["workers"]:
        assert worker.stop() == 0
        found = re.search(r"stopped: messages=(\d+)", worker.text())
        assert found, worker.text()
        per_worker.append(int(found.group(1)))
    assert sum(per_worker) == MQTT_MESSAGES and min(per_worker) > 0, per_worker

    # a caller created through A logs in through B; failures over A and B pause it in both
    admin = {"Authorization": f"Bearer {stack['admin']}"}
    vin = VINS[2]
    owner = stack["owners"][vin]
    created = a.client.post(
        "/v1/callers",
        json={
            "id": "scale-owner",
            "name": "Owner",
            "kind": "person",
            "role": "customer",
            "organisation": "mini_nl",
            "subject_id": owner,
            "password": PASSWORD,
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    login = b.client.post("/v1/auth/login", json={"login": "scale-owner", "password": PASSWORD})
    assert login.status_code == 200, login.text
    token = login.json()["access_token"]

    # what A, B and the workers stored reads back, whole and alike, from A and from B
    reads = []
    for api in (a, b):
        r = api.client.get(
            f"/v1/customers/{owner}/telemetry",
            params={"format": "ndjson"},
            headers={"Authorization": f"Bearer {token}", "X-Purpose": "contract_performance"},
        )
        assert r.status_code == 200, r.text
        reads.append(sorted(r.text.splitlines()))
    first_difference = next(
        ((x, y) for x, y in zip(reads[0], reads[1], strict=False) if x != y), None
    )
    # the same bytes from every process (a key order that followed each process's hash seed
    # once made them differ)
    assert first_difference is None and len(reads[0]) == len(reads[1]), (
        len(reads[0]),
        len(reads[1]),
        first_difference,
    )
    expected = (
        sum(1 for n in range(HTTP_BATCHES * 2) if VINS[n % len(VINS)] == vin)
        + sum(1 for n in range(MQTT_MESSAGES) if VINS[n % len(VINS)] == vin)
    ) * len(SIGNALS)
    assert len(reads[0]) == expected

    # monitoring counts in the database: 10 denied reads spread over A (two processes) and B
    # are one burst of 10, although no process saw more than 5 of them
    stranger = stack["owners"][VINS[0]]
    for i in range(10):
        api = a if i % 2 else b
        r = api.client.get(
            f"/v1/customers/{stranger}/telemetry",
            params={"limit": 1},
            headers={"Authorization": f"Bearer {token}", "X-Purpose": "contract_performance"},
        )
        assert r.status_code == 403, r.text
    with engine.connect() as conn:
        bursts = conn.execute(
            select(alerts.c.count).where(
                alerts.c.caller_id == "scale-owner", alerts.c.rule == "denied_burst"
            )
        ).all()
    assert [row.count for row in bursts] == [10], bursts

    for i in range(10):
        api = a if i % 2 else b
        r = api.client.post("/v1/auth/login", json={"login": "scale-owner", "password": f"no {i}"})
        assert r.status_code == 401 and "not valid" in r.text, r.text
    for api in (a, b, a):  # A has two worker processes: both count in the database
        r = api.client.post("/v1/auth/login", json={"login": "scale-owner", "password": PASSWORD})
        assert r.status_code == 401 and "too many" in r.text, r.text
