"""Read benchmark: one customer and a 100-row customer list through the gate, over HTTP.

    .venv/bin/python bench/read.py [--customers 500] [--reads 200] [--lists 30] [--database URL]

Sets up a fresh store (SQLite in a temporary directory, or ``--database`` for PostgreSQL) with
``--customers`` customers, each with a vehicle, an owner period and a contract, and a
customer-service staff member. Then, through the real app (FastAPI TestClient, in process):

- ``GET /v1/customers/{id}`` ``--reads`` times (purpose ``customer_service``: contract basis, so
  every decision needs the customer's contracts);
- ``GET /v1/customers?limit=100`` ``--lists`` times;
- the baseline: the decision-only cost of the same 100 decisions (the pure engine on prepared
  facts, no I/O), and of one.

Prints p50/p95 per read in milliseconds (wall clock), the median CPU time of the process per read
(``time.process_time``: what the other processes of a shared machine move least), database
transactions (SQLAlchemy ``begin`` events) and AES-GCM decryptions per request, the list/single
ratio of the wall-clock p50 and of the CPU median (target: at most 3, judged on CPU time) and each
read's ratio to its decision-only cost. The script speaks only HTTP and the CLI, so the same file
measures an older tree (``PYTHONPATH=<old>/src``) for a before/after comparison.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ADMIN = "bench-admin-token-0123456789abcdef"
PURPOSE = "customer_service"


class Counter:
    """Counts transactions and decryptions while a request runs."""

    def __init__(self) -> None:
        self.begins = 0
        self.decrypts = 0
        from cryptography.hazmat.primitives.ciphers import aead
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        event.listen(Engine, "begin", self._begin)
        original = aead.AESGCM.decrypt
        counter = self

        def decrypt(self: Any, nonce: bytes, data: bytes, aad: bytes | None) -> bytes:
            counter.decrypts += 1
            return original(self, nonce, data, aad)

        aead.AESGCM.decrypt = decrypt  # type: ignore[method-assign]

    def _begin(self, _conn: Any) -> None:
        self.begins += 1

    def reset(self) -> None:
        self.begins = self.decrypts = 0


def timed(
    call: Callable[[], Any], times: int, counter: Counter
) -> tuple[list[float], list[float], int, int]:
    """Wall-clock and CPU milliseconds (``time.process_time``: what other processes on a shared
    machine move least) of each call, and transactions and decryptions per call."""
    wall, cpu = [], []
    call()  # warm
    counter.reset()
    for _ in range(times):
        start, start_cpu = time.perf_counter(), time.process_time()
        call()
        cpu.append((time.process_time() - start_cpu) * 1000)
        wall.append((time.perf_counter() - start) * 1000)
    return wall, cpu, counter.begins // times, counter.decrypts // times


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def seed(client: Any, n: int) -> list[str]:
    admin = {"Authorization": f"Bearer {ADMIN}"}
    ids = []
    for i in range(n):
        c = client.post(
            "/v1/customers",
            json={
                "surname": f"Visser{i}",
                "first_name": "Iris",
                "street": "Markt",
                "house_number": str(i + 1),
                "postal_code": "2611 GS",
                "city": "Delft",
                "country": "NL",
                "email": f"iris{i}@example.nl",
            },
            headers=admin,
        )
        assert c.status_code == 201, c.text
        cid = c.json()["id"]
        vin = f"WMW{i:014d}"
        v = client.post(
            "/v1/vehicles", json={"vin": vin, "model": "MINI", "colour": "Red"}, headers=admin
        )
        assert v.status_code == 201, v.text
        vid = v.json()["id"]
        usage = {"kind": "owner", "customer_id": cid, "start": "2024-01-01T00:00:00Z"}
        r = client.post(f"/v1/vehicles/{vid}/usages", json=usage, headers=admin)
        assert r.status_code == 201, r.text
        contract = {
            "customer_id": cid,
            "vehicle_id": vid,
            "start": "2024-01-01T00:00:00Z",
            "services": ["ecall"],
        }
        r = client.post("/v1/contracts", json=contract, headers=admin)
        assert r.status_code == 201, r.text
        ids.append(cid)
    return ids


def decision_only(n: int) -> float:
    """Milliseconds of the pure engine for ``n`` decisions like the list's (prepared facts)."""
    from carprivacy.adapters.policy.loader import load_policy_file
    from carprivacy.config import default_policy_path
    from carprivacy.domain.access import Caller, CallerKind, DecisionRequest, Role
    from carprivacy.domain.decisions import compile_policy, decide
    from carprivacy.domain.subject_state import ContractCover, SubjectFacts

    policy = compile_policy(load_policy_file(default_policy_path()))
    caller = Caller("desk", CallerKind.PERSON, Role.CUSTOMER_SERVICE, "mini_nl")
    at = datetime.now(UTC)
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    pairs = [
        (
            DecisionRequest(caller, PURPOSE, ("contact",), at, subject_id=f"c{i}"),
            SubjectFacts(
                subject_id=f"c{i}", country="NL", contracts=(ContractCover(f"k{i}", f"c{i}", t0),)
            ),
        )
        for i in range(n)
    ]
    best = float("inf")
    for _ in range(20):
        start = time.perf_counter()
        for request, facts in pairs:
            decision = decide(policy, request, facts)
        best = min(best, (time.perf_counter() - start) * 1000)
    assert decision.allowed, decision.reasons
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--reads", type=int, default=200)
    parser.add_argument("--lists", type=int, default=30)
    parser.add_argument("--database", default=None, help="a PostgreSQL URL (default: SQLite)")
    args = parser.parse_args()

    data = Path(tempfile.mkdtemp(prefix="carprivacy-read-"))
    os.environ.update(
        CARPRIVACY_DATA_DIR=str(data),
        CARPRIVACY_ADMIN_TOKEN=ADMIN,
        CARPRIVACY_ARGON2_TIME_COST="1",
        CARPRIVACY_ARGON2_MEMORY_KIB="8",
    )
    if args.database:
        os.environ["CARPRIVACY_DATABASE_URL"] = args.database
    cli = [sys.executable, "-m", "carprivacy.entrypoints.cli.main"]
    subprocess.run([*cli, "db", "upgrade"], check=True, capture_output=True)

    from fastapi.testclient import TestClient

    from carprivacy.entrypoints.api.app import create_app

    counter = Counter()
    with TestClient(create_app()) as client:
        print(f"seeding {args.customers} customers (vehicle, owner period, contract each) ...")
        ids = seed(client, args.customers)
        staff = {
            "id": "desk",
            "name": "Desk",
            "kind": "person",
            "role": "customer_service",
            "organisation": "mini_nl",
            "password": "desk passphrase 1234",
        }
        admin = {"Authorization": f"Bearer {ADMIN}"}
        assert client.post("/v1/callers", json=staff, headers=admin).status_code == 201
        login = {"login": "desk", "password": staff["password"]}
        token = client.post("/v1/auth/login", json=login).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", "X-Purpose": PURPOSE}

        def one() -> None:
            r = client.get(f"/v1/customers/{ids[len(ids) // 2]}", headers=headers)
            assert r.status_code == 200, r.text

        def page() -> None:
            r = client.get("/v1/customers", params={"limit": 100}, headers=headers)
            assert r.status_code == 200 and len(r.json()["items"]) == 100, r.text

        single, single_cpu, single_tx, single_dec = timed(one, args.reads, counter)
        listed, list_cpu, list_tx, list_dec = timed(page, args.lists, counter)

    base_one, base_list = decision_only(1), decision_only(100)
    p50_one, p50_list = statistics.median(single), statistics.median(listed)
    store = "PostgreSQL" if args.database else "SQLite"
    print(f"\nstore: {store}, {args.customers} customers, purpose {PURPOSE}")
    print(
        f"{'read':<34}{'p50 ms':>9}{'p95 ms':>9}{'cpu ms':>9}{'tx':>5}{'decrypts':>10}"
        f"{'x decision':>12}"
    )
    rows = (
        ("GET /v1/customers/{id}", single, single_cpu, single_tx, single_dec, p50_one / base_one),
        ("GET /v1/customers?limit=100", listed, list_cpu, list_tx, list_dec, p50_list / base_list),
    )
    for name, values, cpu, tx, dec, ratio in rows:
        print(
            f"{name:<34}{statistics.median(values):>9.2f}{pct(values, 95):>9.2f}"
            f"{statistics.median(cpu):>9.2f}{tx:>5}{dec:>10}{ratio:>12.0f}"
        )
    print(f"decision only: 1 decision {base_one * 1000:.1f} us, 100 decisions {base_list:.3f} ms")
    ratio = p50_list / p50_one
    cpu_ratio = statistics.median(list_cpu) / statistics.median(single_cpu)
    verdict = "met" if cpu_ratio <= 3 else "NOT met"
    print(f"list/single (p50 wall): {ratio:.2f}x")
    print(f"list/single (median CPU): {cpu_ratio:.2f}x  (target <= 3x: {verdict})")


if __name__ == "__main__":
    main()
