"""Erasure benchmark (SPEC R3): ``ErasureService.erase`` of one subject with ``--records``
telemetry records, phase by phase, against a raw ``DELETE`` of the same rows, in the same run.

    .venv/bin/python bench/erasure.py [--records 1000 1000000] [--others 10000] [--repeat 3]
        [--database URL]

Per size, a database is built once: the demo's master data (``load_demo``: customers, accounts,
contracts, payments), then ``--records`` position values (sensitive: AES-256-GCM under the
subject's data key, as ingestion seals them) of the subject's vehicle and ``--others`` of another
customer, through the store's bulk path. Every repetition runs on a fresh copy (a copy of the
SQLite file; on PostgreSQL, ``--database`` a server URL, ``CREATE DATABASE ... TEMPLATE`` of a
database analysed after the load, as autovacuum would), each side on its own:

- **raw**: ``DELETE FROM telemetry WHERE subject_id = :s`` and the subject's master rows, one
  transaction: no judgement, no report, no key destroyed;
- **erase**: what ``carprivacy erase`` does: judge every record (the 10-year payments and their
  counterparty kept), reseal the kept values under the successor key, the notice (an in-memory
  outbox), the **key destruction** phase (the shred list entry, fsynced; the subject's data key
  tombstoned, ``destroy_key``, timed on its own: from its commit every copy of the values is
  unreadable; the phase recorded), then the **purge** of the erased rows (batches of 10,000,
  secure_delete on SQLite).

Prints the medians of each phase; the target is the key destruction under 50 ms at every size,
the purge reported separately, next to the raw DELETE.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

NOW = datetime.now(UTC).replace(microsecond=0)
BENCH_DATABASE = "carprivacy_bench_erasure"
PHASES = ("judge+reseal", "notice", "key destruction", "  of it destroy_key", "purge")


def services_for(url: str, engine: Any, data_dir: Path, shred: Path) -> Any:
    from carprivacy.bootstrap import bootstrap
    from carprivacy.config import Settings
    from carprivacy.testing import InMemoryEmailOutbox

    return bootstrap(
        Settings(data_dir=data_dir, database_url=url, shred_list_path=shred),
        engine=engine,
        outbox=InMemoryEmailOutbox(),
    )


def build(url: str, engine: Any, data_dir: Path, records: int, others: int) -> str:
    """The demo's master data and the telemetry; returns the subject's id."""
    from carprivacy.adapters.db import migrate
    from carprivacy.adapters.db.repositories.telemetry import SqlTelemetryRepository
    from carprivacy.domain.telemetry import TelemetryRow, aad_for
    from carprivacy.services.demo.master_data import load_demo

    migrate.upgrade(engine)
    services = services_for(url, engine, data_dir, data_dir / "build-shreds.jsonl")
    summary = load_demo(services.master)
    owners = [
        (cid, v.id)
        for cid in summary.customer_ids
        for v in services.master.vehicles_of(cid, NOW)
        if services.master.payments_of(cid)
    ]
    (subject, vehicle), (other, other_vehicle) = owners[0], owners[-1]
    store = SqlTelemetryRepository(engine)
    cipher = services.cipher
    for who, car, n in ((subject, vehicle, records), (other, other_vehicle, others)):
        owner = f"subject:{who}"
        start = NOW - timedelta(seconds=n + 10)
        for offset in range(0, n, 20_000):
            chunk = range(offset, min(n, offset + 20_000))
            moments = [start + timedelta(seconds=i) for i in chunk]
            signal = "Vehicle.CurrentLocation.Latitude"
            sealed = cipher.encrypt_many(  # type: ignore[attr-defined]
                owner,
                [
                    (f"{52 + i / 1e7:.7f}".encode(), aad_for(car, signal, ts, "http"))
                    for i, ts in zip(chunk, moments, strict=True)
                ],
            )
            store.store(
                [
                    TelemetryRow(
                        car,
                        who,
                        None,
                        owner,
                        signal,
                        "position_movement",
                        "degrees",
                        None,
                        blob,
                        ts,
                        ts,
                        "http",
                        ("contract_performance",),
                        ts + timedelta(weeks=4),
                    )  # fmt: skip
                    for ts, blob in zip(moments, sealed, strict=True)
                ],
                [],
            )
    return subject


def raw_delete(engine: Any, subject: str) -> int:
    from sqlalchemy import text

    with engine.begin() as conn:
        n = conn.execute(text("DELETE FROM telemetry WHERE subject_id = :s"), {"s": subject})
        gone = int(n.rowcount)
        for table in ("vehicle_usages", "accounts"):
            conn.execute(text(f"DELETE FROM {table} WHERE customer_id = :s"), {"s": subject})
    return gone


def erase(services: Any, subject: str) -> dict[str, float]:
    from carprivacy.domain.access import Caller, CallerKind, Role
    from carprivacy.domain.erasure import ErasureState

    marks: dict[ErasureState, float] = {}
    services.erasure.after_phase = lambda state: marks.__setitem__(state, time.perf_counter())
    cipher = services.erasure.cipher
    destroy = cipher.destroy_key
    tombstone: list[float] = []

    def timed_destroy(owner: str) -> None:
        began = time.perf_counter()
        destroy(owner)
        tombstone.append(time.perf_counter() - began)

    cipher.destroy_key = timed_destroy
    officer = Caller("bench-dpo", CallerKind.PERSON, Role.PRIVACY_OFFICER, "mini_nl")
    began = time.perf_counter()
    report = services.erasure.erase(subject, officer, "benchmark")
    assert report.state == "completed" and report.key_destroyed
    s = ErasureState
    return {
        "judge+reseal": marks[s.RESEALED] - began,
        "notice": marks[s.NOTIFIED] - marks[s.RESEALED],
        "key destruction": marks[s.SHREDDED] - marks[s.NOTIFIED],
        "  of it destroy_key": sum(tombstone),
        "purge": marks[s.COMPLETED] - marks[s.SHREDDED],
        "total": marks[s.COMPLETED] - began,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, nargs="+", default=[1_000, 1_000_000])
    parser.add_argument("--others", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database", default=None, help="a PostgreSQL server URL")
    args = parser.parse_args()
    for records in args.records:
        one_size(args, records)


def one_size(args: argparse.Namespace, records: int) -> None:
    from sqlalchemy import text

    from carprivacy.adapters.db.engine import make_engine

    store = "PostgreSQL" if args.database else "SQLite"
    tmp = Path(tempfile.mkdtemp(prefix="carprivacy-bench-erasure-"))
    data_dir = tmp / "var"
    admin = None
    try:
        if args.database is None:
            template = tmp / "template.db"
            url = f"sqlite:///{template}"
            engine = make_engine(url)
            began = time.perf_counter()
            subject = build(url, engine, data_dir, records, args.others)
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            engine.dispose()

            def fresh(name: str) -> tuple[str, Any]:
                path = tmp / f"{name}.db"
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
                shutil.copyfile(template, path)
                return f"sqlite:///{path}", make_engine(f"sqlite:///{path}")
        else:
            admin = make_engine(args.database, isolation_level="AUTOCOMMIT")
            base = args.database.rsplit("/", 1)[0]
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {BENCH_DATABASE}"))
                conn.execute(text(f"CREATE DATABASE {BENCH_DATABASE}"))
            url = f"{base}/{BENCH_DATABASE}"
            engine = make_engine(url)
            began = time.perf_counter()
            subject = build(url, engine, data_dir, records, args.others)
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))  # as autovacuum would after a bulk load
            engine.dispose()

            def fresh(name: str) -> tuple[str, Any]:
                assert admin is not None
                target = f"{BENCH_DATABASE}_{name}"
                with admin.connect() as conn:
                    conn.execute(text(f"DROP DATABASE IF EXISTS {target}"))
                    conn.execute(text(f"CREATE DATABASE {target} TEMPLATE {BENCH_DATABASE}"))
                return f"{base}/{target}", make_engine(f"{base}/{target}")

        print(f"built {records:,} + {args.others:,} records on {store} in "
              f"{time.perf_counter() - began:.1f} s")  # fmt: skip
        raw: list[float] = []
        phases: list[dict[str, float]] = []
        for repetition in range(args.repeat):
            order = ("raw", "erase") if repetition % 2 == 0 else ("erase", "raw")
            for side in order:
                target_url, target = fresh(side)
                if side == "raw":
                    began = time.perf_counter()
                    gone = raw_delete(target, subject)
                    raw.append(time.perf_counter() - began)
                    assert gone == records
                else:
                    shred = tmp / f"shreds-{repetition}.jsonl"
                    services = services_for(target_url, target, data_dir, shred)
                    phases.append(erase(services, subject))
                target.dispose()
    finally:
        if admin is not None:
            with admin.connect() as conn:
                for name in ("", "_raw", "_erase"):
                    conn.execute(text(f"DROP DATABASE IF EXISTS {BENCH_DATABASE}{name}"))
            admin.dispose()
        shutil.rmtree(tmp, ignore_errors=True)

    def med(key: str) -> float:
        return statistics.median(p[key] for p in phases)

    print(f"{store}, subject with {records:,} records (+{args.others:,} of another), "
          f"{args.repeat} repetitions (medians), {os.cpu_count()} cores")  # fmt: skip
    for key in (*PHASES, "total"):
        print(f"  erase: {key:16s} {med(key) * 1000:10.1f} ms")
    print(f"  raw DELETE of the same rows {statistics.median(raw) * 1000:10.1f} ms")
    print(f"  purge / raw DELETE          {med('purge') / statistics.median(raw):10.2f}x")
    verdict = "met" if max(p["key destruction"] for p in phases) < 0.05 else "MISSED"
    worst = max(p["key destruction"] for p in phases) * 1000
    print(f"  key destruction under 50 ms: {verdict} (worst {worst:.1f} ms)")


if __name__ == "__main__":
    main()
