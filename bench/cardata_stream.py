"""CarData stream benchmark: delay from ingestion to delivery, and from revocation to cut-off.

    .venv/bin/python bench/cardata_stream.py [--messages 200] [--cutoffs 10] [--database URL]
                                             [--reconcile 1.0]

Starts a stream broker of its own from deploy/mosquitto/stream-ci.conf (TLS, dynamic security
plugin; certificates generated now) in a temporary directory, a fresh store (SQLite, or
``--database`` for PostgreSQL in a schema of its own) with one customer and one car, and the
real app (FastAPI TestClient, in process) with the stream on. A client written for the published
description goes through the device-code flow, creates a container of 2 descriptors and the
customer consents to pass its data to that client id; a paho subscriber (TLS, username the gcid,
password the id token) subscribes to ``{gcid}/#``. Then, in the same run:

- raw baseline: ``--messages`` plain publishes by the publisher account on ``{gcid}/{vin}``,
  each timed from ``publish()`` to its arrival at the subscriber (broker, TLS, paho: what the
  transport costs);
- stream: ``--messages`` telemetry POSTs of 3 signals, each timed from the POST answered (the
  values stored) to the message's arrival (the publisher's read back through the gate, the
  broker's ACL, TLS); the time from the POST sent is printed too;
- cut-off: ``--cutoffs`` times, the consent is withdrawn (and given again), timed from the
  withdrawal's answer to the subscriber's disconnection; the same for the client id deleted
  (its grant revoked) once.

Prints median and p99 in milliseconds and the stream's median over the baseline's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))

ADMIN = "bench-admin-token-0123456789abcdef"
PASSWORD = "bench passphrase 1"
VIN = "WMW31DH0402R00188"
MILEAGE, SPEED, VOLTAGE = (
    "Vehicle.TraveledDistance",
    "Vehicle.Speed",
    "Vehicle.LowVoltageBattery.CurrentVoltage",
)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def line(name: str, values: list[float]) -> str:
    return (
        f"{name:<44} n={len(values):<4} median {statistics.median(values):8.2f} ms"
        f"   p99 {pct(values, 0.99):8.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--cutoffs", type=int, default=10)
    parser.add_argument("--database", default=None)
    parser.add_argument("--reconcile", type=float, default=1.0, help="seconds between passes")
    args = parser.parse_args()

    from cardata_client import CarDataClient
    from fastapi.testclient import TestClient
    from pydantic import SecretStr
    from sqlalchemy import text
    from stream_support import StreamSubscriber

    from carprivacy.adapters.db.base import load_all_tables
    from carprivacy.adapters.db.engine import make_engine
    from carprivacy.adapters.mqtt.dynsec import BrokerAddress, mqtt_client
    from carprivacy.bootstrap import bootstrap
    from carprivacy.config import Settings
    from carprivacy.domain.master import AccountKind, ContactDetails, UsageKind
    from carprivacy.entrypoints.api.app import create_app
    from carprivacy.testing.stream_broker import PUBLISHER, StreamBrokerProcess

    data = Path(tempfile.mkdtemp())
    broker = StreamBrokerProcess(data / "broker")
    info = broker.start()
    url = args.database or f"sqlite:///{data / 'bench.db'}"
    schema = None
    if url.startswith("postgresql"):
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        with make_engine(url).begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    load_all_tables().create_all(engine)
    settings = Settings(
        data_dir=data,
        admin_token=SecretStr(ADMIN),
        argon2_time_cost=1,
        argon2_memory_kib=8,
        cardata_poll_interval_seconds=1,
        stream_host=info.host,
        stream_port=info.port,
        stream_tls_ca=info.ca,
        stream_admin_password=SecretStr(info.admin_password),
        stream_publisher_password=SecretStr(info.publisher_password),
        stream_reconcile_seconds=args.reconcile,
    )
    services = bootstrap(settings, engine=engine)
    m = services.master
    contact = ContactDetails(
        "Bench", "Eva", "Oudegracht", "1", "3511 AB", "Utrecht", "NL", None, None
    )
    eva = m.register_customer(contact)
    account = m.open_account(eva.id, "mini_ag", AccountKind.GROUP_LOGIN, "bench-login")
    car = m.register_vehicle(VIN, "MINI Cooper SE", "green")
    m.add_usage(car.id, UsageKind.OWNER, datetime.now(UTC) - timedelta(days=10), customer_id=eva.id)
    vehicle = {
        "Authorization": f"Bearer {services.vehicle_credentials.issue(car.id, VIN).token}",
        "Content-Type": "application/json",
    }
    gcid = account.id
    subscribers: list[StreamSubscriber] = []
    try:
        with TestClient(create_app(services)) as http:
            person = {"id": "eva", "name": "eva", "kind": "person", "organisation": "mini_nl",
                      "role": "customer", "subject_id": eva.id, "password": PASSWORD}  # fmt: skip
            http.post("/v1/callers", json=person, headers={"Authorization": f"Bearer {ADMIN}"})
            login = http.post("/v1/auth/login", json={"login": "eva", "password": PASSWORD})
            me = {"Authorization": f"Bearer {login.json()['access_token']}"}
            r = http.post(
                "/v1/me/cardata/clients",
                json={"name": "bench", "scopes": ["cardata:api:read", "cardata:streaming:read"]},
                headers=me,
            )
            client_id = r.json()["client_id"]
            device: dict[str, Any] = {}

            def approve(seconds: float) -> None:
                if "done" not in device:
                    device["done"] = http.post(
                        "/v1/me/cardata/device-approvals",
                        json={"user_code": device["user_code"]},
                        headers=me,
                    )
                time.sleep(seconds)

            cd = CarDataClient(http, client_id, sleep=approve)
            device.update(cd.request_device_code())
            cd.poll_for_token(device)
            cd.create_container("bench", "dashboard", [MILEAGE, SPEED])
            consent = {"topic": "cardata_sharing", "channel": "app", "party": client_id}
            consents = f"/v1/subjects/{eva.id}/consents"

            def connected() -> StreamSubscriber:
                deadline = time.monotonic() + 20
                while True:
                    s = StreamSubscriber(info.host, info.port, info.ca, gcid, cd.tokens["id_token"])
                    subscribers.append(s)
                    if s.connect():
                        s.subscribe(f"{gcid}/#")
                        return s
                    s.close()
                    if time.monotonic() > deadline:
                        raise RuntimeError("the stream account was not let in")
                    time.sleep(0.05)

            http.post(consents, json=consent, headers=me)
            sub = connected()

            # -- raw baseline: plain publish -> receive on the same broker, same subscriber --
            pub = mqtt_client(
                BrokerAddress(info.host, info.port, info.ca, PUBLISHER, info.publisher_password),
                "bench-raw-publisher",
            )
            ready = threading.Event()
            pub.on_connect = lambda *_: ready.set()
            pub.connect(info.host, info.port)
            pub.loop_start()
            ready.wait(10)
            raw = []
            for i in range(args.messages):
                body = json.dumps({"vin": VIN, "data": {"n": {"value": str(i)}}}).encode()
                t0 = time.perf_counter()
                pub.publish(f"{gcid}/{VIN}", body, qos=1)
                sub.next_message(timeout=10)
                raw.append((time.perf_counter() - t0) * 1000)
            pub.disconnect()
            pub.loop_stop()

            # -- the stream: POST answered (stored) -> delivered --------------------------------
            answered, sent = [], []
            start = datetime.now(UTC) - timedelta(hours=1)
            for i in range(args.messages):
                ts = (start + timedelta(seconds=i)).isoformat()
                records = [
                    {"signal": MILEAGE, "value": 1000 + i, "ts": ts},
                    {"signal": SPEED, "value": 50.0, "ts": ts},
                    {"signal": VOLTAGE, "value": 12.4, "ts": ts},
                ]
                t0 = time.perf_counter()
                r = http.post("/v1/telemetry", content=json.dumps(records), headers=vehicle)
                t1 = time.perf_counter()
                assert r.json()["accepted"] == 3, r.text
                _, message = sub.next_message(timeout=10)
                t2 = time.perf_counter()
                assert set(message["data"]) == {MILEAGE, SPEED}
                answered.append((t2 - t1) * 1000)
                sent.append((t2 - t0) * 1000)

            # -- revocation -> cut-off ------------------------------------------------------------
            withdrawn = []
            for _ in range(args.cutoffs):
                s = connected()
                t0 = time.perf_counter()
                http.post(f"{consents}/withdrawals", json=consent, headers=me)
                ended = s.wait_disconnected(timeout=20)
                assert ended is not None, "not cut off"
                withdrawn.append((ended - t0) * 1000)
                http.post(consents, json=consent, headers=me)
            s = connected()
            t0 = time.perf_counter()
            http.delete(f"/v1/me/cardata/clients/{client_id}", headers=me)
            ended = s.wait_disconnected(timeout=20)
            assert ended is not None, "not cut off"
            deleted = (ended - t0) * 1000

        store = "PostgreSQL" if schema else "SQLite"
        print(f"CarData stream, {store}, broker TLS + dynamic security, in-process app")
        print(line("raw: publish -> received (baseline)", raw))
        print(line("stream: POST answered -> received", answered))
        print(line("stream: POST sent -> received", sent))
        ratio = statistics.median(answered) / statistics.median(raw)
        print(f"{'stream median / raw median':<44} {ratio:8.1f}x")
        print(line("consent withdrawn -> disconnected", withdrawn))
        print(f"{'client id deleted (grant revoked) -> disconnected':<44} {deleted:8.0f} ms")
        print(f"reconcile interval: {settings.stream_reconcile_seconds} s (the cut-off's bound)")
    finally:
        for s in subscribers:
            s.close()
        services.close()
        broker.stop()
        if schema:
            with make_engine(args.database).begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


if __name__ == "__main__":
    main()
