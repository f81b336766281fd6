"""CarData customer API benchmark: a published-API client's calls through the gate, over HTTP.

    .venv/bin/python bench/cardata_api.py [--calls 200] [--hours 168] [--database URL]

Sets up a fresh store (SQLite in a temporary directory, or ``--database`` for PostgreSQL) with
one customer, one vehicle and ``--hours`` hours of minute-by-minute mileage, voltage and speed
(3 signals), a CarData client authorised through the device-code flow and a container of the
3 signals. Then, through the real app (FastAPI TestClient, in process), ``--calls`` times each:

- the baseline: ``GET /v1/me/vehicles`` with the customer's login (the own-data read through
  the gate the CarData routes build on);
- ``GET /customers/vehicles/mappings`` (token check, quota count, one gate read);
- ``GET /customers/vehicles/{vin}/telematicData?containerId=`` (plus the vehicle's gate read
  and one newest-first row per descriptor, however long the history).

Prints p50/p95 in milliseconds and each route's p50 ratio to the baseline's. On PostgreSQL it
works in a schema of its own (dropped at the end) and runs ``ANALYZE telemetry`` after loading,
as autovacuum would: without statistics the newest-first read sorts the vehicle's rows.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))

ADMIN = "bench-admin-token-0123456789abcdef"
VIN = "WMW31DH0402R00088"
SIGNALS = ("Vehicle.TraveledDistance", "Vehicle.LowVoltageBattery.CurrentVoltage", "Vehicle.Speed")


def timed(call: Callable[[], Any], n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        r = call()
        out.append((time.perf_counter() - start) * 1000)
        assert r.status_code == 200, r.text
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--hours", type=int, default=168)
    parser.add_argument("--database", default=None)
    args = parser.parse_args()

    from cardata_client import CarDataClient
    from fastapi.testclient import TestClient
    from pydantic import SecretStr

    from carprivacy.adapters.db.base import load_all_tables
    from carprivacy.adapters.db.engine import make_engine
    from carprivacy.bootstrap import bootstrap
    from carprivacy.config import Settings
    from carprivacy.domain.master import ContactDetails, UsageKind
    from carprivacy.entrypoints.api.app import create_app

    data = Path(tempfile.mkdtemp())
    url = args.database or f"sqlite:///{data / 'bench.db'}"
    schema = None
    if url.startswith("postgresql"):  # a schema of its own, dropped at the end
        from sqlalchemy import text

        schema = f"bench_{uuid.uuid4().hex[:10]}"
        with make_engine(url).begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    settings = Settings(
        data_dir=data, admin_token=SecretStr(ADMIN), argon2_time_cost=1, argon2_memory_kib=8
    )
    engine = make_engine(url)
    load_all_tables().create_all(engine)
    services = bootstrap(settings, engine=engine)
    m = services.master
    eva = m.register_customer(
        ContactDetails("Jansen", "Eva", "Gracht", "1", "3511 AB", "Utrecht", "NL", None, None)
    )
    car = m.register_vehicle(VIN, "MINI Cooper SE", "green")
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    m.add_usage(car.id, UsageKind.OWNER, now - timedelta(hours=args.hours + 1), customer_id=eva.id)
    minutes = args.hours * 60
    for start in range(0, minutes, 5000):
        records = [
            {"signal": s, "value": v, "ts": (now - timedelta(minutes=minutes - i)).isoformat()}
            for i in range(start, min(start + 5000, minutes))
            for s, v in zip(SIGNALS, (1000 + i, 12.5, 50.0), strict=True)
        ]
        services.ingest.ingest(records, source="http", vehicle_vin=VIN, received_at=now)
    if schema is not None:  # the statistics autovacuum keeps in production
        from sqlalchemy import text

        with engine.begin() as conn:
            conn.execute(text("ANALYZE telemetry"))
    with TestClient(create_app(services)) as http:
        admin = {"Authorization": f"Bearer {ADMIN}"}
        http.post(
            "/v1/callers",
            json={"id": "eva", "name": "Eva", "kind": "person", "role": "customer",
                  "organisation": "mini_nl", "subject_id": eva.id, "password": "bench passphrase"},
            headers=admin,
        )  # fmt: skip
        login = http.post("/v1/auth/login", json={"login": "eva", "password": "bench passphrase"})
        me = {"Authorization": f"Bearer {login.json()['access_token']}"}
        made = http.post(
            "/v1/me/cardata/clients", json={"name": "bench", "scopes": ["cardata:api:read"]},
            headers=me,
        )  # fmt: skip
        cd = CarDataClient(http, made.json()["client_id"], sleep=lambda _: None)
        device = cd.request_device_code()
        http.post("/v1/me/cardata/device-approvals", json={"user_code": device["user_code"]},
                  headers=me)  # fmt: skip
        cd.poll_for_token(device)
        container = cd.create_container("bench", "bench", list(SIGNALS))
        api = cd._headers()
        runs = {
            "baseline GET /v1/me/vehicles": lambda: http.get("/v1/me/vehicles", headers=me),
            "GET /customers/vehicles/mappings": lambda: http.get(
                "/customers/vehicles/mappings", headers=api
            ),
            "GET /customers/vehicles/{vin}/telematicData": lambda: http.get(
                f"/customers/vehicles/{VIN}/telematicData",
                params={"containerId": container},
                headers=api,
            ),
        }
        results = {name: timed(call, args.calls) for name, call in runs.items()}
    engine.dispose()
    if schema is not None:
        from sqlalchemy import text

        admin = make_engine(args.database)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    base = statistics.median(next(iter(results.values())))
    print(f"store: {engine.dialect.name}; {minutes * 3:,} stored values; {args.calls} calls each")
    for name, ms in results.items():
        p50, p95 = statistics.median(ms), statistics.quantiles(ms, n=20)[18]
        print(f"{name:48s} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  ratio {p50 / base:5.2f}")


if __name__ == "__main__":
    main()
