"""Retention benchmark: a retention run over a telemetry table against a raw
``DELETE FROM telemetry WHERE expires_at <= now`` of the same rows, measured in the same run.

    .venv/bin/python bench/retention.py [--rows 1000000] [--expired 0.5] [--batch 5000]
        [--repeat 3] [--database URL]

The table is built once with the store's own bulk path (``executemany`` on SQLite, binary
``COPY`` on PostgreSQL): ``--rows`` section B values (``traffic_info``, 4 weeks) of 1,000
vehicles, stamped by the expiry rules; the oldest ``--expired`` fraction has expired. For every
repetition the table is restored (a copy of the SQLite file; on PostgreSQL ``--database``, a
server URL, the rows are copied back from a template table of the benchmark's own database,
which it finally drops), then each side runs on its own copy:

- **raw**: one ``DELETE ... WHERE expires_at <= now`` in one transaction (the whole table locked
  for its length, no report);
- **run**: ``RetentionService.run`` as ``carprivacy retention run`` does it: every step of the
  policy, batches of ``--batch`` rows each deleted with the run's counts in one transaction,
  the rule of every row decided, the run recorded and audited; on PostgreSQL, whose telemetry
  is partitioned by week, a week whose values have all expired is dropped whole first (the
  store has the weeks of the data's 8 weeks, as one that has been running that long has).

Prints the median wall-clock and CPU seconds of each side, the run/raw ratio (target: no slower
on SQLite), the peak memory of the run (tracemalloc) and the number of rows each removed (equal).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

NOW = datetime.now(UTC).replace(microsecond=0)
BENCH_DATABASE = "carprivacy_bench_retention"


def build(engine: Any, rows: int, expired: float) -> None:
    from carprivacy.adapters.db import migrate
    from carprivacy.adapters.db.repositories.telemetry import SqlTelemetryRepository
    from carprivacy.domain.telemetry import TelemetryRow

    migrate.upgrade(engine)
    weeks_back(engine)
    store = SqlTelemetryRepository(engine)
    span = timedelta(weeks=8)  # collection times spread over 8 weeks, the oldest 4 expired
    cut = int(rows * expired)
    batch: list[TelemetryRow] = []
    for i in range(rows):
        # rows [0, cut) collected more than 4 weeks ago, the rest within the last 4 weeks
        if i < cut:
            ts = (
                NOW - timedelta(weeks=4) - (span / 2) * (1 - i / max(cut, 1)) - timedelta(minutes=1)
            )
        else:
            ts = NOW - (span / 2) * (1 - (i - cut) / max(rows - cut, 1)) + timedelta(minutes=1)
        vehicle = f"veh-{i % 1000:04d}"
        batch.append(
            TelemetryRow(
                vehicle,
                f"cust-{i % 1000:04d}",
                None,
                f"subject:cust-{i % 1000:04d}",
                f"Vehicle.Exterior.AirTemperature.{i % 3}",
                "traffic_info",
                "celsius",
                str(i % 40),
                None,
                ts,
                ts,
                "http",
                ("contract_performance", "product_development", "anonymised_third_parties"),
                ts + timedelta(weeks=4),
            )
        )
        if len(batch) == 20_000:
            store.store(batch, [])
            batch = []
    if batch:
        store.store(batch, [])


def weeks_back(engine: Any) -> None:
    """PostgreSQL: the week partitions of the data's 8 weeks, as a store that has been running
    that long has them (``db upgrade`` and every retention run create them ahead)."""
    from carprivacy.adapters.db import partitions

    with engine.begin() as conn:
        partitions.ensure_weeks(conn, NOW - timedelta(weeks=9), ahead=9 + partitions.AHEAD_WEEKS)


def raw_delete(engine: Any) -> int:
    from sqlalchemy import text

    with engine.begin() as conn:
        return int(
            conn.execute(
                text("DELETE FROM telemetry WHERE expires_at <= :now"),
                {"now": NOW if engine.dialect.name == "postgresql" else _sqlite(NOW)},
            ).rowcount
        )


def _sqlite(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def retention_service(engine: Any, data_dir: Path, batch: int) -> Any:
    """The composition root as ``carprivacy retention run`` builds it (not timed: its start-up,
    a second or two of imports and key files, is the same for any table size)."""
    from carprivacy.bootstrap import bootstrap
    from carprivacy.config import Settings
    from carprivacy.testing import FakeClock

    services = bootstrap(
        Settings(data_dir=data_dir, database_url=str(engine.url.render_as_string(False))),
        engine=engine,
        clock=FakeClock(NOW),
    )
    services.retention.batch_size = batch
    return services.retention


def timed(call: Any) -> tuple[float, float, int]:
    wall, cpu = time.perf_counter(), time.process_time()
    n = call()
    return time.perf_counter() - wall, time.process_time() - cpu, n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--expired", type=float, default=0.5)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database", default=None, help="a PostgreSQL server URL")
    args = parser.parse_args()

    from sqlalchemy import text

    from carprivacy.adapters.db.engine import make_engine

    tmp = Path(tempfile.mkdtemp(prefix="carprivacy-bench-retention-"))
    results: dict[str, list[tuple[float, float, int]]] = {"raw": [], "run": []}
    peak = 0
    try:
        if args.database is None:
            template = tmp / "template.db"
            engine = make_engine(f"sqlite:///{template}")
            began = time.perf_counter()
            build(engine, args.rows, args.expired)
            engine.dispose()
            print(f"built {args.rows:,} rows on SQLite in {time.perf_counter() - began:.1f} s")

            def fresh(name: str) -> Any:
                path = tmp / f"{name}.db"
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
                shutil.copyfile(template, path)
                return make_engine(f"sqlite:///{path}")
        else:
            admin = make_engine(args.database, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {BENCH_DATABASE}"))
                conn.execute(text(f"CREATE DATABASE {BENCH_DATABASE}"))
            url = args.database.rsplit("/", 1)[0] + f"/{BENCH_DATABASE}"
            engine = make_engine(url)
            began = time.perf_counter()
            build(engine, args.rows, args.expired)
            with engine.begin() as conn:
                conn.execute(text("CREATE TABLE telemetry_template AS TABLE telemetry"))
            print(f"built {args.rows:,} rows on PostgreSQL in {time.perf_counter() - began:.1f} s")

            def fresh(name: str) -> Any:
                with engine.begin() as conn:
                    conn.execute(text("TRUNCATE telemetry, retention_runs"))
                weeks_back(engine)  # the weeks the last run dropped
                with engine.begin() as conn:
                    conn.execute(text("INSERT INTO telemetry SELECT * FROM telemetry_template"))
                    conn.execute(text("DELETE FROM audit_log"))
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(text("VACUUM ANALYZE telemetry"))
                return engine

        for repetition in range(args.repeat):
            order = ("raw", "run") if repetition % 2 == 0 else ("run", "raw")
            for side in order:
                target = fresh(side)
                data = tmp / f"var-{side}-{repetition}"
                if side == "raw":
                    results[side].append(timed(lambda t=target: raw_delete(t)))
                else:
                    service = retention_service(target, data, args.batch)
                    tracemalloc.start()
                    results[side].append(timed(lambda s=service: s.run().total))
                    peak = max(peak, tracemalloc.get_traced_memory()[1])
                    tracemalloc.stop()
                if args.database is None:
                    target.dispose()
    finally:
        if args.database is not None:
            engine.dispose()
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {BENCH_DATABASE}"))
            admin.dispose()
        shutil.rmtree(tmp, ignore_errors=True)

    def med(side: str, i: int) -> float:
        return statistics.median(r[i] for r in results[side])

    removed = {side: {r[2] for r in results[side]} for side in results}
    engine_name = "PostgreSQL" if args.database else "SQLite"
    print(
        f"{engine_name}, {args.rows:,} rows, {args.expired:.0%} expired, batch {args.batch}, "
        f"{args.repeat} repetitions (medians)"
    )
    print(f"  raw DELETE     wall {med('raw', 0):7.2f} s   cpu {med('raw', 1):7.2f} s")
    print(f"  retention run  wall {med('run', 0):7.2f} s   cpu {med('run', 1):7.2f} s")
    print(
        f"  ratio run/raw  wall {med('run', 0) / med('raw', 0):7.2f}x  "
        f"cpu {med('run', 1) / max(med('raw', 1), 1e-9):7.2f}x"
    )
    print(f"  rows removed   raw {sorted(removed['raw'])}  run {sorted(removed['run'])}")
    print(f"  peak memory of the run (tracemalloc): {peak / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
