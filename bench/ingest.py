"""Ingestion benchmark: the full pipeline against a raw insert of the same rows.

    .venv/bin/python bench/ingest.py [--records 100000] [--batch 1000] [--vehicles 100]
                                     [--db sqlite|postgresql|both]

Per database, in the same run and into the same ``telemetry`` table:

- raw: the rows the pipeline produced, already built (values encrypted, expiry computed), written
  with the fastest plain method the database has (SQLite: one ``executemany`` INSERT per batch;
  PostgreSQL: ``COPY`` per batch), one transaction per batch;
- pipeline: ``IngestService.ingest`` on wire records (dicts as parsed from JSON): validate against
  the catalogue, look up vehicles and usage periods (one query per batch), attribute to the owner
  at each record's time, compute purposes and expiry, AES-256-GCM-encrypt the sensitive values under
  per-subject keys, insert with natural-key dedupe, commit (one transaction per batch).

The table is emptied before each timed run. PostgreSQL: ``CARPRIVACY_BENCH_POSTGRES_URL`` (default
postgresql://postgres@127.0.0.1:5432/test), in a schema of its own that is dropped afterwards.
Prints records/s, the ratio pipeline/raw and the peak resident memory of the process.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import Engine, text

from carprivacy.adapters.crypto.master_key import new_master_key
from carprivacy.adapters.db.base import load_all_tables
from carprivacy.adapters.db.engine import make_engine
from carprivacy.adapters.db.repositories.telemetry import (
    COLUMNS,
    PG_COPY_TYPES,
    SqlTelemetryRepository,
    _sqlite_time,
)
from carprivacy.bootstrap import Services, bootstrap
from carprivacy.config import load_settings
from carprivacy.domain.master import ContactDetails, UsageKind
from carprivacy.domain.telemetry import QuarantineRow, TelemetryRow
from carprivacy.services.ingestion.ports import StoreOutcome

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"

SIGNALS: list[tuple[str, Callable[[random.Random, int], object]]] = [
    ("Vehicle.Speed", lambda r, i: round(r.uniform(0, 130), 1)),
    ("Vehicle.CurrentLocation.Latitude", lambda r, i: 52.0 + r.random() / 10),
    ("Vehicle.CurrentLocation.Longitude", lambda r, i: 4.3 + r.random() / 10),
    ("Vehicle.TraveledDistance", lambda r, i: 10_000_000 + i * 13),
    ("Vehicle.LowVoltageBattery.CurrentVoltage", lambda r, i: round(r.uniform(11.8, 14.4), 2)),
    ("Vehicle.Cabin.Door.Row1.DriverSide.IsOpen", lambda r, i: r.random() < 0.1),
    ("Vehicle.Exterior.AirTemperature", lambda r, i: round(r.uniform(-5, 30), 1)),
    ("Vehicle.Powertrain.CombustionEngine.EngineOil.Level", lambda r, i: "NORMAL"),
]


class CapturingRepository:
    """Wraps the SQL repository and keeps the rows the pipeline produced (for the raw run)."""

    def __init__(self, inner: SqlTelemetryRepository) -> None:
        self.inner = inner
        self.batches: list[list[TelemetryRow]] = []

    def store(
        self,
        rows: Sequence[TelemetryRow],
        quarantine: Sequence[QuarantineRow],
        taken: Collection[int] = (),
    ) -> StoreOutcome:
        self.batches.append(list(rows))
        return self.inner.store(rows, quarantine, taken)


def setup_fleet(container: Services, vehicles: int, since: datetime) -> list[str]:
    vins = []
    for n in range(vehicles):
        vin = f"WMWBENCH{n:09d}"
        customer = container.master.register_customer(
            ContactDetails("Jansen", "Piet", "Kerkstraat", str(n + 1), "2281 AA", "Rijswijk", "NL")
        )
        vehicle = container.master.register_vehicle(vin, "MINI Cooper SE", "green")
        container.master.add_usage(vehicle.id, UsageKind.OWNER, since, customer_id=customer.id)
        vins.append(vin)
    return vins


def make_batches(
    vins: list[str], total: int, batch: int, start: datetime
) -> list[list[dict[str, Any]]]:
    rng = random.Random(7)
    records: list[dict[str, Any]] = []
    i = 0
    while len(records) < total:
        ts = (start + timedelta(seconds=i)).isoformat()
        for vin in vins:
            for name, value in SIGNALS:
                records.append({"vin": vin, "signal": name, "value": value(rng, i), "ts": ts})
        i += 1
    records = records[:total]
    return [records[k : k + batch] for k in range(0, total, batch)]


def empty(engine: Engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE telemetry, telemetry_quarantine"))
        else:
            conn.execute(text("DELETE FROM telemetry"))
            conn.execute(text("DELETE FROM telemetry_quarantine"))
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("VACUUM")


def raw_insert(
    engine: Engine, batches: list[list[TelemetryRow]], plain: bool = False
) -> tuple[float, float]:
    """Time writing prepared rows with the database's fast path (PostgreSQL: binary COPY), or,
    with ``plain``, with an ``executemany`` INSERT (what most applications do): (wall, CPU)
    seconds, the rows' conversion to driver tuples done before the clock starts."""
    cols = ", ".join(COLUMNS)
    if engine.dialect.name == "sqlite":
        sql = f"INSERT INTO telemetry ({cols}) VALUES ({', '.join('?' * len(COLUMNS))})"
        prepared = [
            [
                (
                    r.vehicle_id,
                    r.subject_id,
                    r.fleet_id,
                    r.key_owner,
                    r.signal,
                    r.category,
                    r.unit,
                    r.value,
                    r.value_ciphertext,
                    _sqlite_time(r.ts),
                    _sqlite_time(r.received_at),
                    r.source,
                    json.dumps(list(r.purposes)),
                    _sqlite_time(r.expires_at),
                )
                for r in b
            ]
            for b in batches
        ]
        started, cpu = time.perf_counter(), time.process_time()
        for rows in prepared:
            with engine.begin() as conn:
                cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
                cur.executemany(sql, rows)
                cur.close()
        return time.perf_counter() - started, time.process_time() - cpu
    prepared_pg = [
        [
            (
                r.vehicle_id,
                r.subject_id,
                r.fleet_id,
                r.key_owner,
                r.signal,
                r.category,
                r.unit,
                r.value,
                r.value_ciphertext,
                r.ts,
                r.received_at,
                r.source,
                json.dumps(list(r.purposes)),
                r.expires_at,
            )
            for r in b
        ]
        for b in batches
    ]
    if plain:
        sql = f"INSERT INTO telemetry ({cols}) VALUES ({', '.join(['%s'] * len(COLUMNS))})"
        started, cpu = time.perf_counter(), time.process_time()
        for rows in prepared_pg:
            with engine.begin() as conn:
                raw_conn: Any = conn.connection.driver_connection
                with raw_conn.cursor() as cur:
                    cur.executemany(sql, rows)
        return time.perf_counter() - started, time.process_time() - cpu
    started, cpu = time.perf_counter(), time.process_time()
    for rows in prepared_pg:
        with engine.begin() as conn:
            raw: Any = conn.connection.driver_connection
            with (
                raw.cursor() as cur,
                cur.copy(f"COPY telemetry ({cols}) FROM STDIN (FORMAT BINARY)") as copy,
            ):
                copy.set_types(PG_COPY_TYPES)
                for row in rows:
                    copy.write_row(row)
    return time.perf_counter() - started, time.process_time() - cpu


def pipeline(
    container: Services, batches: list[list[dict[str, Any]]], now: datetime
) -> tuple[float, float]:
    ingest = container.ingest
    started, cpu = time.perf_counter(), time.process_time()
    for b in batches:
        result = ingest.ingest(b, source="mqtt", vehicle_vin=None, received_at=now)
        if result.rejected:
            raise SystemExit(f"bench data was refused: {result.statuses[0].errors}")
    return time.perf_counter() - started, time.process_time() - cpu


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def run(name: str, url: str, args: argparse.Namespace) -> dict[str, float]:
    engine = make_engine(url)
    load_all_tables().create_all(engine)
    with tempfile.TemporaryDirectory() as data_dir:
        settings = load_settings(
            data_dir=Path(data_dir),
            database_url=url,
            master_key=SecretStr(base64.b64encode(new_master_key()).decode()),
        )
        container = bootstrap(settings, engine=engine)
        now = datetime.now(UTC)
        start = now - timedelta(days=2)
        vins = setup_fleet(container, args.vehicles, start - timedelta(days=1))
        batches = make_batches(vins, args.records, args.batch, start)
        total = sum(len(b) for b in batches)

        # warm-up pass: creates the data keys and captures the rows for the raw run
        capture = CapturingRepository(SqlTelemetryRepository(engine))
        container.ingest._telemetry = capture  # noqa: SLF001 - benchmark instrumentation
        pipeline(container, batches, now)
        container.ingest._telemetry = capture.inner  # noqa: SLF001
        empty(engine)

        # raw and pipeline alternate, --repeat times each, so that both see the same load;
        # the table is emptied before every timed run
        raws: list[tuple[float, float]] = []
        pipes: list[tuple[float, float]] = []
        plains: list[tuple[float, float]] = []
        load_before = load()
        for _ in range(args.repeat):
            raws.append(raw_insert(engine, capture.batches))
            empty(engine)
            if engine.dialect.name == "postgresql":
                plains.append(raw_insert(engine, capture.batches, plain=True))
                empty(engine)
            pipes.append(pipeline(container, batches, now))
            stored = container.telemetry.count()
            assert stored == total, (stored, total)
            empty(engine)
        load_after = load()
        container.close()
    sensitive = sum(1 for b in capture.batches for r in b if r.value_ciphertext is not None)
    raw_s, raw_cpu = min(raws)
    pipe_s, pipe_cpu = min(pipes)
    pair_ratios = sorted(r[0] / p[0] for r, p in zip(raws, pipes, strict=True))
    result = {
        "records": float(total),
        "raw_rps": total / raw_s,
        "pipeline_rps": total / pipe_s,
        "ratio": raw_s / pipe_s,
        "median_pair_ratio": pair_ratios[len(pair_ratios) // 2],
        "encrypted_share": sensitive / total,
        "peak_rss_mib": peak_rss_mib(),
        "raw_cpu_rps": total / raw_cpu,
        "pipeline_cpu_rps": total / pipe_cpu,
    }
    print(
        f"{name:<11} records={total:>7}  raw={result['raw_rps']:>9,.0f} rec/s  "
        f"pipeline={result['pipeline_rps']:>9,.0f} rec/s  ratio={result['ratio']:.0%} "
        f"(median of {args.repeat} pairs {result['median_pair_ratio']:.0%})  "
        f"encrypted={result['encrypted_share']:.0%}  peak RSS={result['peak_rss_mib']:.0f} MiB",
        flush=True,
    )
    print(
        f"{'':<11} per CPU-second of this process: raw {result['raw_cpu_rps']:,.0f} rec/s, "
        f"pipeline {result['pipeline_cpu_rps']:,.0f} rec/s"
        + (" (SQLite: includes the database's work, in-process)" if not plains else "")
        + f"; load average before {load_before}, after {load_after}",
        flush=True,
    )
    if plains:
        plain_s = min(plains)[0]
        result["plain_rps"] = total / plain_s
        result["ratio_plain"] = plain_s / pipe_s
        print(
            f"{'':<11} raw executemany INSERT={result['plain_rps']:>9,.0f} rec/s  "
            f"pipeline/that={result['ratio_plain']:.0%}",
            flush=True,
        )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--vehicles", type=int, default=100)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--repeat", type=int, default=3, help="timed runs of each; the best is reported"
    )
    args = parser.parse_args(argv)
    print(
        f"ingest benchmark: {args.records} records in batches of {args.batch} from "
        f"{args.vehicles} vehicles, {len(SIGNALS)} signals (3 of them sensitive: encrypted)",
        flush=True,
    )
    targets = {"sqlite": 30_000, "postgresql": 20_000}
    failed = False
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            r = run("SQLite", f"sqlite:///{tmp}/bench.db", args)
            failed |= r["pipeline_rps"] < targets["sqlite"] or r["ratio"] < 0.5
    if args.db in ("postgresql", "both"):
        url = os.environ.get("CARPRIVACY_BENCH_POSTGRES_URL", DEFAULT_PG)
        schema = f"bench_ingest_{uuid.uuid4().hex[:8]}"
        admin = make_engine(url)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in url else "?"
        try:
            r = run("PostgreSQL", f"{url}{sep}options=-csearch_path%3D{schema}", args)
            failed |= r["pipeline_rps"] < targets["postgresql"] or r["ratio"] < 0.5
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    print(
        "targets: pipeline >= 50% of raw; >= 30,000 rec/s SQLite; >= 20,000 rec/s PostgreSQL -> "
        + ("MISSED" if failed else "met")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
