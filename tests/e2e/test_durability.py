"""Durability under faults (SPEC I1, I3): what the platform acknowledged is stored exactly once,
with the value that was sent, whatever is killed or restarted.

- ``carprivacy serve`` SIGKILLed ``KILLS`` times, each at a random moment after that run
  acknowledged something, while several clients post batches for several vehicles; after each
  restart each client re-sends the batch it got no answer for. Acknowledged: an HTTP 200.
- ``carprivacy ingest mqtt`` SIGKILLed ``KILLS`` times, each at a random moment after that run
  stored something, while several publishers send QoS 1 messages for several vehicles through a
  Mosquitto with the project's configuration; the restarted worker resumes its persistent
  session. Acknowledged: a PUBACK.
- A PostgreSQL cluster of the test's own stopped ``immediate`` (as a crash) during HTTP and MQTT
  ingestion: the server answers 503 (nothing stored, retry) while it is down and 200 again once it
  is back, without a restart; the worker waits with its messages unacknowledged.
- The broker (a Mosquitto of the test's own, persistence on) stopped and started again during a
  burst: nothing it acknowledged is lost.

Every stored value is read back through the service layer (decrypted where encrypted at rest)
and compared with what was sent. ``CARPRIVACY_TEST_KILLS`` sets the kills: 5 in the default run,
20 with ``make durability``.
"""

from __future__ import annotations

import base64
import json
import os
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine
from tests.conftest import IN_CI, ProjectBroker
from tests.e2e.processes import (
    Key,
    PrivatePostgres,
    Server,
    Worker,
    private_postgres,
    stored,
    stored_values,
)

from carprivacy.adapters.crypto.master_key import new_master_key
from carprivacy.adapters.db.base import load_all_tables
from carprivacy.adapters.db.engine import make_engine
from carprivacy.bootstrap import Services, bootstrap
from carprivacy.config import load_settings
from carprivacy.domain.master import ContactDetails, UsageKind
from carprivacy.testing.mosquitto import MosquittoProcess

KILLS = int(os.environ.get("CARPRIVACY_TEST_KILLS", "5"))  # make durability: 20
CLIENTS = 3
VEHICLES = 6
BATCH = 20  # records per HTTP batch: speed (plain) and latitude (encrypted) per timestamp


def record_values(rng: random.Random) -> tuple[float, float]:
    return round(rng.uniform(0, 130), 3), 52.0 + rng.random()  # every bit of the latitude


@dataclass
class Fleet:
    container: Services
    env: dict[str, str]
    vins: list[str]
    tokens: list[str]
    base: datetime = field(default_factory=lambda: datetime.now(UTC) - timedelta(days=5))


def make_fleet(db_url: str, engine: Engine, data_dir: Path) -> Fleet:
    key = base64.b64encode(new_master_key()).decode()
    settings = load_settings(data_dir=data_dir, database_url=db_url, master_key=key)
    container = bootstrap(settings, engine=engine)
    since = datetime.now(UTC) - timedelta(days=30)
    vins, tokens = [], []
    for n in range(VEHICLES):
        vin = f"WMWDVR{random.randrange(10**6):06d}{n:05d}"
        customer = container.master.register_customer(
            ContactDetails("Dekker", "Koen", "Breestraat", str(n + 1), "2311 AB", "Leiden", "NL")
        )
        vehicle = container.master.register_vehicle(vin, "MINI Cooper SE", "blue")
        container.master.add_usage(vehicle.id, UsageKind.OWNER, since, customer_id=customer.id)
        tokens.append(container.vehicle_credentials.issue(vehicle.id, vin).token)
        vins.append(vin)
    env = {
        **os.environ,
        "CARPRIVACY_DATABASE_URL": db_url,
        "CARPRIVACY_DATA_DIR": str(data_dir),
        "CARPRIVACY_MASTER_KEY": key,
        "CARPRIVACY_ADMIN_TOKEN": "durability-admin-kkkkkkkkkkkkkkkkkkkk",
    }
    return Fleet(container, env, vins, tokens)


def check_stored(fleet: Fleet, acked: dict[Key, object], sent: dict[Key, object]) -> int:
    """Every acknowledged record stored once with its value; nothing stored that was not sent."""
    got = stored_values(fleet.container, fleet.vins)
    twice = {k: v for k, v in got.items() if len(v) != 1}
    assert twice == {}, f"{len(twice)} records stored more than once"
    missing = [k for k in acked if k not in got]
    assert not missing, f"{len(missing)} of {len(acked)} acknowledged records lost: {missing[:3]}"
    assert {k: got[k][0] for k in acked} == acked, "a stored value differs from the one sent"
    strays = {k: v for k, v in got.items() if sent.get(k, object()) != v[0]}
    assert strays == {}, "stored records that were never sent with that value"
    return len(got)


class HttpClients:
    """CLIENTS threads posting batches, each for its own vehicles; a batch without an answer is
    re-sent by the same client until it is answered."""

    def __init__(self, fleet: Fleet, seed: int) -> None:
        self.fleet = fleet
        self.rng = random.Random(seed)
        self.sent: dict[Key, object] = {}
        self.acked: dict[Key, object] = {}
        self.pending: dict[int, tuple[int, list[dict[str, Any]]]] = {}
        self.seq = [0] * CLIENTS
        self.interrupted = 0
        self.statuses: dict[int, int] = {}
        self.lock = threading.Lock()

    def batch(self, client: int) -> tuple[int, list[dict[str, Any]]]:
        if client in self.pending:
            return self.pending[client]
        vehicle = client + CLIENTS * (self.seq[client] % (VEHICLES // CLIENTS))
        records: list[dict[str, Any]] = []
        for i in range(BATCH // 2):
            second = client * 100_000 + self.seq[client] * BATCH + i
            ts = self.fleet.base + timedelta(seconds=second)
            speed, lat = record_values(self.rng)
            for signal, value in (
                ("Vehicle.Speed", speed),
                ("Vehicle.CurrentLocation.Latitude", lat),
            ):
                records.append({"signal": signal, "value": value, "ts": ts.isoformat()})
                with self.lock:
                    self.sent[(self.fleet.vins[vehicle], signal, ts)] = value
        self.seq[client] += 1
        self.pending[client] = (vehicle, records)
        return vehicle, records

    def run(self, client: int, url: str, stop: threading.Event, allow_503: bool = False) -> None:
        with httpx.Client(base_url=url, timeout=30) as http:
            while not stop.is_set():
                vehicle, records = self.batch(client)
                headers = {"Authorization": f"Bearer {self.fleet.tokens[vehicle]}"}
                try:
                    r = http.post("/v1/telemetry", json=records, headers=headers)
                except httpx.HTTPError:
                    with self.lock:
                        self.interrupted += 1
                    if allow_503:
                        time.sleep(0.1)
                        continue
                    return  # killed mid-request: the batch stays pending
                with self.lock:
                    self.statuses[r.status_code] = self.statuses.get(r.status_code, 0) + 1
                if r.status_code == 503 and allow_503:
                    assert r.headers.get("Retry-After"), r.headers
                    time.sleep(0.1)
                    continue
                assert r.status_code == 200, r.text
                answer = r.json()
                assert answer["accepted"] + answer["duplicates"] == len(records), answer
                vin = self.fleet.vins[vehicle]
                with self.lock:
                    for rec in records:
                        ts = datetime.fromisoformat(str(rec["ts"]))
                        self.acked[(vin, str(rec["signal"]), ts)] = rec["value"]
                del self.pending[client]

    def threads(self, url: str, stop: threading.Event, allow_503: bool = False) -> list[Any]:
        out = [
            threading.Thread(target=self.run, args=(c, url, stop, allow_503), daemon=True)
            for c in range(CLIENTS)
        ]
        for t in out:
            t.start()
        return out


class Publishers:
    """CLIENTS QoS 1 publishers, each for its own vehicles, at a steady pace; what the broker
    acknowledged (PUBACK) is known per message."""

    def __init__(self, fleet: Fleet, host: str, port: int, topic: str, seed: int) -> None:
        self.fleet, self.topic = fleet, topic
        self.rng = random.Random(seed)
        self.messages: list[tuple[mqtt.MQTTMessageInfo, dict[Key, object]]] = []
        self.lock = threading.Lock()
        self.clients = []
        for c in range(CLIENTS):
            client = mqtt.Client(
                CallbackAPIVersion.VERSION2,
                client_id=f"{topic.split('/')[0]}-pub{c}",
                protocol=mqtt.MQTTv5,
            )
            client.max_inflight_messages_set(50)
            client.reconnect_delay_set(0.1, 1)
            client.connect(host, port)
            client.loop_start()
            self.clients.append(client)

    def run(self, c: int, stop: threading.Event, limit: int, pause: float) -> None:
        for i in range(limit):
            if stop.is_set():
                return
            vehicle = c + CLIENTS * (i % (VEHICLES // CLIENTS))
            vin = self.fleet.vins[vehicle]
            ts = self.fleet.base + timedelta(days=2, seconds=c * 100_000 + i)
            speed, lat = record_values(self.rng)
            values = {"Vehicle.Speed": speed, "Vehicle.CurrentLocation.Latitude": lat}
            payload = [{"signal": s, "value": v, "ts": ts.isoformat()} for s, v in values.items()]
            topic = self.topic.replace("+", vin)
            while True:  # a car retries what its client refused to send (not connected)
                info = self.clients[c].publish(topic, json.dumps(payload), qos=1)
                if info.rc == mqtt.MQTT_ERR_SUCCESS or stop.is_set():
                    break
                time.sleep(0.05)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                return
            with self.lock:
                self.messages.append((info, {(vin, s, ts): v for s, v in values.items()}))
            time.sleep(pause)

    def threads(self, stop: threading.Event, limit: int, pause: float) -> list[Any]:
        out = [
            threading.Thread(target=self.run, args=(c, stop, limit, pause), daemon=True)
            for c in range(CLIENTS)
        ]
        for t in out:
            t.start()
        return out

    def sent(self) -> dict[Key, object]:
        return {k: v for _, records in self.messages for k, v in records.items()}

    def acknowledged(self, timeout: float = 60) -> dict[Key, object]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not all(i.is_published() for i, _ in self.messages):
            time.sleep(0.1)
        return {k: v for i, rs in self.messages if i.is_published() for k, v in rs.items()}

    def close(self) -> None:
        for client in self.clients:
            client.disconnect()
            client.loop_stop()


def wait_stored(engine: Engine, count: int, timeout: float = 90) -> None:
    """Until ``count`` rows are stored or no progress for ``timeout`` seconds."""
    last, since = -1, time.monotonic()
    while (n := stored(engine)) < count and time.monotonic() - since < timeout:
        if n != last:
            last, since = n, time.monotonic()
        time.sleep(0.2)
    time.sleep(0.5)  # anything more would be a duplicate: give it the chance to show


def worker_args(topic: str, host: str, port: int, keepalive: int = 5) -> list[str]:
    return [
        "--topic", topic, "--no-group", "--client-id", f"{topic.split('/')[0]}-worker",
        "--host", host, "--port", str(port), "--batch-size", "50", "--batch-ms", "30",
        "--session-expiry", "600", "--keepalive", str(keepalive), "--quiet",
    ]  # fmt: skip


def test_server_sigkill_several_clients_and_vehicles(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    fleet = make_fleet(db_url, engine, tmp_path)
    clients = HttpClients(fleet, seed=random.randrange(10**6))
    server = Server(fleet.env, tmp_path)
    rng = random.Random()
    began = time.monotonic()
    for _ in range(KILLS):
        server.start()
        stop = threading.Event()
        threads = clients.threads(server.url, stop)
        acked = len(clients.acked)
        deadline = time.monotonic() + 120
        while len(clients.acked) <= acked and time.monotonic() < deadline:
            time.sleep(0.01)  # this run of the server has acknowledged something ...
        time.sleep(rng.uniform(0.0, 0.6))  # ... and is killed at a random moment after
        server.kill()
        stop.set()
        for t in threads:
            t.join(30)
            assert not t.is_alive()
    count = check_stored(fleet, clients.acked, clients.sent)
    print(
        f"\nserver SIGKILL x{KILLS}: {CLIENTS} clients, {VEHICLES} vehicles; "
        f"{len(clients.acked)} records acknowledged, {count} stored (each once, values equal), "
        f"{clients.interrupted} requests cut by a kill; {time.monotonic() - began:.0f} s"
    )
    assert clients.interrupted >= 1, "the kills should land while batches are in flight"
    assert len(clients.acked) >= BATCH * KILLS, "every run of the server acknowledged something"
    fleet.container.close()


def test_worker_sigkill_several_publishers_and_vehicles(
    db_url: str, engine: Engine, tmp_path: Path, project_broker: ProjectBroker
) -> None:
    fleet = make_fleet(db_url, engine, tmp_path)
    topic = f"dur{random.randrange(16**8):08x}/+/telemetry"
    host, port = project_broker.host, project_broker.port
    worker = Worker(fleet.env, worker_args(topic, host, port), tmp_path)
    worker.start()
    worker.wait_subscribed()  # the persistent session exists before anything is published
    publishers = Publishers(fleet, host, port, topic, seed=random.randrange(10**6))
    stop = threading.Event()
    threads = publishers.threads(stop, limit=100_000, pause=0.05)
    rng = random.Random()
    progress = []
    began = time.monotonic()
    try:
        for _ in range(KILLS):
            worker.wait_subscribed()
            before = stored(engine)
            deadline = time.monotonic() + 120
            while stored(engine) == before and time.monotonic() < deadline:
                time.sleep(0.01)  # this run of the worker has stored something ...
            time.sleep(rng.uniform(0.0, 0.5))  # ... and is killed at a random moment after
            worker.kill()
            progress.append((before, stored(engine)))
            worker.start()
        stop.set()
        for t in threads:
            t.join(30)
        acked = publishers.acknowledged()
        wait_stored(engine, len(acked))
        worker.wait_subscribed()
        assert worker.stop() == 0
    finally:
        stop.set()
        publishers.close()
        if worker.alive():
            worker.kill()
    count = check_stored(fleet, acked, publishers.sent())
    print(
        f"\nworker SIGKILL x{KILLS}: {CLIENTS} publishers, {VEHICLES} vehicles; "
        f"{len(publishers.messages)} messages, {len(acked)} records acknowledged by the broker, "
        f"{count} stored (each once, values equal); {time.monotonic() - began:.0f} s"
    )
    assert all(after > before for before, after in progress), f"kills while storing: {progress}"
    assert progress[-1][1] < count, "records were still coming in at the last kill"
    assert len(acked) == 2 * len(publishers.messages)
    fleet.container.close()


@pytest.fixture
def own_postgres() -> Iterator[PrivatePostgres]:
    with private_postgres(IN_CI) as cluster:
        yield cluster


@pytest.mark.postgres
@pytest.mark.mqtt
def test_postgres_restart_during_ingestion(
    own_postgres: PrivatePostgres, tmp_path: Path, project_broker: ProjectBroker
) -> None:
    engine = make_engine(own_postgres.url)
    load_all_tables().create_all(engine)
    fleet = make_fleet(own_postgres.url, engine, tmp_path)
    topic = f"pgr{random.randrange(16**8):08x}/+/telemetry"
    host, port = project_broker.host, project_broker.port
    worker = Worker(fleet.env, worker_args(topic, host, port), tmp_path)
    server = Server(fleet.env, tmp_path)
    worker.start()
    worker.wait_subscribed()
    server.start()
    clients = HttpClients(fleet, seed=random.randrange(10**6))
    publishers = Publishers(fleet, host, port, topic, seed=random.randrange(10**6))
    stop = threading.Event()
    downs: list[dict[int, int]] = []
    try:
        threads = clients.threads(server.url, stop, allow_503=True)
        threads += publishers.threads(stop, limit=100_000, pause=0.05)
        for _ in range(2):
            time.sleep(2)
            before = dict(clients.statuses)
            own_postgres.stop("immediate")
            time.sleep(4)
            during = {s: n - before.get(s, 0) for s, n in clients.statuses.items()}
            own_postgres.start()
            downs.append(during)
        # the server answers 200 again without a restart
        ok_before = clients.statuses.get(200, 0)
        deadline = time.monotonic() + 60
        while clients.statuses.get(200, 0) < ok_before + 5 and time.monotonic() < deadline:
            time.sleep(0.2)
        stop.set()
        for t in threads:
            t.join(60)
        assert server.alive() and worker.alive(), "neither process needed a restart"
        assert clients.statuses.get(200, 0) >= ok_before + 5, clients.statuses
        acked = {**clients.acked, **publishers.acknowledged()}
        wait_stored(engine, len(acked))
        assert worker.stop() == 0
    finally:
        stop.set()
        publishers.close()
        for proc in (server, worker):
            if proc.alive():
                proc.kill()
    count = check_stored(fleet, acked, {**clients.sent, **publishers.sent()})
    print(
        f"\nPostgreSQL stopped (immediate) twice for 4 s during ingestion: answers while down "
        f"{downs}; all answers {clients.statuses}; {len(acked)} records acknowledged "
        f"(HTTP 200 or PUBACK), {count} stored (each once, values equal)"
    )
    for during in downs:
        assert during.get(503, 0) > 0, f"503 while the database is down: {downs}"
        assert set(during) <= {200, 503}, f"only 200 (before it noticed) and 503: {downs}"
    fleet.container.close()
    engine.dispose()


@pytest.mark.mqtt
def test_broker_restart_during_a_burst(db_url: str, engine: Engine, tmp_path: Path) -> None:
    fleet = make_fleet(db_url, engine, tmp_path)
    broker = MosquittoProcess(tmp_path / "broker")
    broker.start()
    topic = f"brk{random.randrange(16**8):08x}/+/telemetry"
    worker = Worker(fleet.env, worker_args(topic, *broker.address), tmp_path)
    publishers: Publishers | None = None
    try:
        worker.start()
        worker.wait_subscribed()
        publishers = Publishers(fleet, *broker.address, topic, seed=random.randrange(10**6))
        stop = threading.Event()
        threads = publishers.threads(stop, limit=600, pause=0.005)
        while len(publishers.messages) < 300:
            time.sleep(0.01)
        at = len(publishers.messages)
        broker.stop()  # SIGTERM: Mosquitto writes its persistence file
        time.sleep(1)
        broker.start()
        for t in threads:
            t.join(120)
        acked = publishers.acknowledged(timeout=90)
        wait_stored(engine, len(acked))
        worker.wait_subscribed()
        assert worker.stop() == 0
    finally:
        if publishers is not None:
            publishers.close()
        if worker.alive():
            worker.kill()
        broker.stop()
    count = check_stored(fleet, acked, publishers.sent())
    print(
        f"\nbroker restarted at message {at} of a burst of {len(publishers.messages)}: "
        f"{len(acked)} records acknowledged, {count} stored (each once, values equal)"
    )
    assert len(acked) == 2 * len(publishers.messages), "the publishers' sessions resent"
    fleet.container.close()
