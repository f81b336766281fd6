"""CarData stream benchmark for a third party: delay from ingestion to delivery on the insurer's
own stream account, and from the customer's revocation of the share to the cut-off.

    .venv/bin/python bench/cardata_stream_shares.py [--messages 200] [--cutoffs 10]
                                                    [--database URL] [--reconcile 1.0]

Starts a stream broker of its own (deploy/mosquitto/stream-ci.conf: TLS, dynamic security), a
fresh store (SQLite, or ``--database`` for PostgreSQL in a schema of its own) with one customer
and one car, and the real app in process with the stream on. An insurer is registered, with a
CarData client of its own (api and streaming scopes); the customer approves its device code (a
share of the mileage); the insurer's client creates a container (mileage, speed) and a paho
subscriber (TLS, username the insurer's account id, password its id token) subscribes. Then:

- stream: ``--messages`` telemetry POSTs of 3 signals, each timed from the POST answered to the
  message's arrival (the shared mileage only);
- cut-off: ``--cutoffs`` times, the share is revoked (POST .../revocation), timed from the
  revocation's answer to the subscriber's disconnection; a new share is made for the next round.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cardata_stream import ADMIN, MILEAGE, PASSWORD, SPEED, VIN, VOLTAGE, line  # noqa: E402


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
    from carprivacy.bootstrap import bootstrap
    from carprivacy.config import Settings
    from carprivacy.domain.master import ContactDetails, UsageKind
    from carprivacy.entrypoints.api.app import create_app
    from carprivacy.testing.stream_broker import StreamBrokerProcess

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
    car = m.register_vehicle(VIN, "MINI Cooper SE", "green")
    m.add_usage(car.id, UsageKind.OWNER, datetime.now(UTC) - timedelta(days=10), customer_id=eva.id)
    vehicle = {
        "Authorization": f"Bearer {services.vehicle_credentials.issue(car.id, VIN).token}",
        "Content-Type": "application/json",
    }
    admin = {"Authorization": f"Bearer {ADMIN}"}
    subscribers: list[StreamSubscriber] = []
    try:
        with TestClient(create_app(services)) as http:
            person = {"id": "eva", "name": "eva", "kind": "person", "organisation": "mini_nl",
                      "role": "customer", "subject_id": eva.id, "password": PASSWORD}  # fmt: skip
            http.post("/v1/callers", json=person, headers=admin)
            login = http.post("/v1/auth/login", json={"login": "eva", "password": PASSWORD})
            me = {"Authorization": f"Bearer {login.json()['access_token']}"}
            party = {"id": "insurer_a", "name": "Insurer A N.V.", "country": "NL",
                     "transfer_mechanism": "eea", "undertaking": "insurer_a_group"}  # fmt: skip
            assert http.post("/v1/third-parties", json=party, headers=admin).status_code == 201
            machine = {"id": "insurer_a_api", "name": "insurer_a_api", "kind": "machine",
                       "role": "partner", "organisation": "insurer_a",
                       "generate_secret": True}  # fmt: skip
            assert http.post("/v1/callers", json=machine, headers=admin).status_code == 201
            r = http.post(
                "/v1/third-parties/insurer_a/clients",
                json={"owner_id": "insurer_a_api", "name": "UBI", "days": 30,
                      "agreed_purpose": "usage-based insurance premium", "descriptors": [MILEAGE],
                      "scopes": ["cardata:api:read", "cardata:streaming:read"]},
                headers=admin,
            )  # fmt: skip
            cd = CarDataClient(http, r.json()["client_id"], sleep=time.sleep)
            device = cd.request_device_code()
            answer = http.post(
                "/v1/me/cardata/share-approvals",
                json={"user_code": device["user_code"], "vehicle_id": car.id, "approve": True},
                headers=me,
            )
            share_id = answer.json()["share"]["share_id"]
            cd.poll_for_token(device)
            cd.create_container("ubi", "premium", [MILEAGE, SPEED])
            gcid, password = cd.tokens["gcid"], cd.tokens["id_token"]

            def connected() -> StreamSubscriber:
                deadline = time.monotonic() + 20
                while True:
                    s = StreamSubscriber(info.host, info.port, info.ca, gcid, password)
                    subscribers.append(s)
                    if s.connect():
                        s.subscribe(f"{gcid}/#")
                        return s
                    s.close()
                    if time.monotonic() > deadline:
                        raise RuntimeError("the insurer's stream account was not let in")
                    time.sleep(0.05)

            sub = connected()
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
                assert set(message["data"]) == {MILEAGE}, message
                answered.append((t2 - t1) * 1000)
                sent.append((t2 - t0) * 1000)

            revoked = []
            for _ in range(args.cutoffs):
                s = connected()
                t0 = time.perf_counter()
                r = http.post(f"/v1/me/cardata/shares/{share_id}/revocation", headers=me)
                assert r.status_code == 200, r.text
                ended = s.wait_disconnected(timeout=20)
                assert ended is not None, "not cut off"
                revoked.append((ended - t0) * 1000)
                again = http.post(
                    "/v1/me/cardata/shares",
                    json={"vehicle_id": car.id, "party": "insurer_a", "descriptors": [MILEAGE],
                          "agreed_purpose": "usage-based insurance premium"},
                    headers=me,
                )  # fmt: skip
                assert again.status_code == 201, again.text
                share_id = again.json()["share_id"]

        store = "PostgreSQL" if schema else "SQLite"
        print(f"CarData stream to a third party, {store}, broker TLS + dynamic security")
        print(line("stream: POST answered -> received", answered))
        print(line("stream: POST sent -> received", sent))
        print(line("share revoked -> disconnected", revoked))
        print(f"reconcile interval: {settings.stream_reconcile_seconds} s")
        print(f"(median revoked: {statistics.median(revoked):.0f} ms)")
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
