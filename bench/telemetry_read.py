"""Telemetry read-back benchmark: one vehicle's 10,000 values through the gate, from a table of
growing size, against a raw indexed SELECT of the same rows plus their decryption.

    .venv/bin/python bench/telemetry_read.py [--sizes 100000,1000000] [--records 10000]
        [--database URL] [--repeat 5]
    # the long option: --sizes 1000000,10000000 (10M rows: about 15 minutes of loading)

A fresh store (SQLite in a temporary directory; with ``--database``, a PostgreSQL server URL,
a database of its own that the benchmark creates and finally drops) gets one customer with a
vehicle, an owner period and a contract, whose ``--records`` values (every minute, half
``Vehicle.TraveledDistance``, half ``Vehicle.Speed``: sensitive, sealed under the customer's
data key) are interleaved in time with the values of filler vehicles, up to each table size in
``--sizes``. Rows go in with the store's own bulk path (``executemany`` on SQLite, binary
``COPY`` on PostgreSQL), values sealed by the real envelope cipher. At each size:

- **gate**: ``TelemetryReads.stream`` (what ``GET /v1/vehicles/{id}/telemetry?format=ndjson``
  runs) as the owner for ``contract_performance``: the window read a page at a time, decided,
  audited, decrypted only once allowed, released in the identified form;
- **raw**: one SELECT of the same rows on the driver (using ``ix_telemetry_vehicle_ts``), each
  sealed value decrypted with the same cipher and every value decoded from JSON.

Prints the median milliseconds of each, the gate/raw ratio (target: at most 2x) and each one's
growth from the first size to the last (target: none).
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

T0 = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=8)
TARGET_VIN = "WMW31DH0402B00001"
FILLER_VEHICLES = 997  # filler rows spread over this many vehicles
BATCH = 20_000
FILL_SQL_BATCH = 1_000_000  # filler rows per INSERT ... SELECT (one transaction)
BENCH_DATABASE = "carprivacy_bench_telemetry_read"  # on the --database server, dropped first


def medians(
    calls: dict[str, Callable[[], int]], repeat: int
) -> dict[str, tuple[float, float, int]]:
    """(median wall ms, median CPU ms of this process, rows) per call, the calls taking turns
    (so that the other load of a shared machine falls on each alike)."""
    counts = {name: call() for name, call in calls.items()}  # warm
    wall: dict[str, list[float]] = {name: [] for name in calls}
    cpu: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeat):
        for name, call in calls.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            counts[name] = call()
            cpu[name].append((time.process_time() - start_cpu) * 1000)
            wall[name].append((time.perf_counter() - start) * 1000)
    return {
        name: (statistics.median(wall[name]), statistics.median(cpu[name]), counts[name])
        for name in calls
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="table sizes, ascending")
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database", default=None, help="a PostgreSQL URL (default: SQLite)")
    parser.add_argument("--profile", action="store_true", help="profile the gate at each size")
    parser.add_argument(
        "--fill",
        choices=("sql", "store"),
        default="sql",
        help="filler rows by one INSERT ... SELECT per million (sql) or the store's bulk path",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    from pydantic import SecretStr
    from sqlalchemy import make_url, text

    from carprivacy.adapters.crypto.master_key import new_master_key
    from carprivacy.adapters.db.engine import make_engine
    from carprivacy.adapters.db.migrate import upgrade
    from carprivacy.bootstrap import bootstrap
    from carprivacy.config import Settings
    from carprivacy.domain.access import Caller, CallerKind, Role
    from carprivacy.domain.master import ContactDetails, UsageKind
    from carprivacy.domain.telemetry import TelemetryRow, aad_for, decode_value
    from carprivacy.services.access.gate import Reading
    from carprivacy.services.access.telemetry import TelemetryQuery

    data = Path(tempfile.mkdtemp(prefix="carprivacy-telemetry-read-"))
    url = f"sqlite:///{data / 'bench.db'}"
    if args.database:  # a database of its own on that server, made afresh
        admin = make_engine(args.database).execution_options(isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {BENCH_DATABASE}"))
            conn.execute(text(f"CREATE DATABASE {BENCH_DATABASE}"))
        admin.dispose()
        url = make_url(args.database).set(database=BENCH_DATABASE).render_as_string(False)
    engine = make_engine(url)
    upgrade(engine)
    key = SecretStr(base64.b64encode(new_master_key()).decode())
    settings = Settings(data_dir=data, master_key=key, database_url=url)
    services = bootstrap(settings, engine=engine)
    m = services.master
    owner = m.register_customer(
        ContactDetails("Bench", "Bo", "Markt", "1", "2611 GS", "Delft", "NL", None, None)
    )
    vehicle = m.register_vehicle(TARGET_VIN, "MINI Cooper SE", "Red")
    m.add_usage(vehicle.id, UsageKind.OWNER, T0 - timedelta(days=1), customer_id=owner.id)
    m.conclude_contract(owner.id, vehicle.id, T0 - timedelta(days=1), ["teleservices"])
    cipher, store = services.cipher, services.telemetry
    received, expires = datetime.now(UTC), datetime.now(UTC) + timedelta(days=365)
    purposes = ("contract_performance",)
    subject_key = f"subject:{owner.id}"

    # the vehicle's values, one a minute; sealed where sensitive
    target: list[TelemetryRow] = []
    for i in range(args.records):
        ts = T0 + timedelta(minutes=i)
        if i % 2:
            plain = str(float(i % 130)).encode()
            sealed = cipher.encrypt(
                subject_key, plain, aad_for(vehicle.id, "Vehicle.Speed", ts, "http")
            )
            row = TelemetryRow(
                vehicle.id, owner.id, None, subject_key, "Vehicle.Speed", "position_movement",
                "km/h", None, sealed, ts, received, "http", purposes, expires,
            )  # fmt: skip
        else:
            row = TelemetryRow(
                vehicle.id, owner.id, None, subject_key, "Vehicle.TraveledDistance",
                "vehicle_status", "km", str(1000.0 + i), None, ts, received, "http", purposes,
                expires,
            )  # fmt: skip
        target.append(row)
    assert store.store(target, []).committed
    span = args.records  # minutes: the filler is interleaved with the vehicle's period
    loaded = args.records
    query = TelemetryQuery(vehicle_id=vehicle.id)
    caller = Caller("owner", CallerKind.PERSON, Role.CUSTOMER, "mini_nl", subject_id=owner.id)
    reading = Reading(caller, "contract_performance", action="bench")
    raw_sql = (
        "SELECT id, signal, value, value_ciphertext, key_owner, ts, source FROM telemetry "
        "WHERE vehicle_id = {p} AND (expires_at IS NULL OR expires_at > {p}) "
        "ORDER BY ts, id"
    ).format(p="%s" if args.database else "?")

    def gate() -> int:
        return sum(1 for _ in services.telemetry_reads.stream(reading, query))

    def window_only() -> int:
        from carprivacy.domain.telemetry import TelemetryWindow

        w = TelemetryWindow(vehicle_id=vehicle.id, live_at=datetime.now(UTC))
        n, after = 0, None
        while True:
            rows = store.window(w, after, 5000)
            n += len(rows)
            if len(rows) < 5000:
                return n
            after = (rows[-1].ts, rows[-1].id)

    def raw() -> int:
        conn: Any = engine.raw_connection()
        try:
            cur = conn.cursor()
            live = datetime.now(UTC)
            cur.execute(raw_sql, (vehicle.id, live if args.database else _sqlite_time(live)))
            n = 0
            for _id, signal, value, sealed, key_owner, ts, source in cur.fetchall():
                if value is None:
                    when = ts if args.database else datetime.fromisoformat(ts).replace(tzinfo=UTC)
                    aad = aad_for(vehicle.id, signal, when, source)
                    value = cipher.decrypt(key_owner, bytes(sealed), aad).decode()
                decode_value(value)
                n += 1
            cur.close()
            return n
        finally:
            conn.close()

    store_name = "PostgreSQL" if args.database else "SQLite"
    print(f"store: {store_name}; {args.records} values of one vehicle; repeat {args.repeat}")
    print(
        f"{'table rows':>12}{'load s':>9}{'gate ms':>10}{'raw ms':>9}{'gate/raw':>10}"
        f"{'gate cpu':>10}{'raw cpu':>9}{'gate/raw':>10}{'window ms':>10}"
    )
    results: list[tuple[int, float, float]] = []
    for size in sizes:
        start = time.perf_counter()
        filler = 0
        while loaded < size:
            n = min(BATCH if args.fill == "store" else FILL_SQL_BATCH, size - loaded)
            if args.fill == "sql":
                fill_sql(engine, loaded, loaded + n, span, received, expires, purposes)
            else:
                rows = []
                for j in range(n):
                    k = loaded + j
                    v = f"filler-{k % FILLER_VEHICLES:04d}"
                    ts = T0 + timedelta(minutes=k % span, microseconds=k // span + 1)
                    rows.append(
                        TelemetryRow(
                            v,
                            None,
                            None,
                            f"vehicle:{v}",
                            "Vehicle.TraveledDistance",
                            "vehicle_status",
                            "km",
                            str(float(k)),
                            None,
                            ts,
                            received,
                            "http",
                            purposes,
                            expires,
                        )  # fmt: skip
                    )
                assert store.store(rows, []).committed
            loaded += n
            filler += n
        load_s = time.perf_counter() - start
        if args.database:
            with engine.begin() as conn:
                conn.execute(text("ANALYZE telemetry"))
        else:
            with engine.begin() as conn:
                conn.execute(text("ANALYZE"))
        m = medians({"gate": gate, "raw": raw, "window": window_only}, args.repeat)
        (gate_ms, gate_cpu, gate_n), (raw_ms, raw_cpu, raw_n) = m["gate"], m["raw"]
        assert gate_n == raw_n == args.records, (gate_n, raw_n)
        results.append((size, gate_ms, raw_ms, gate_cpu, raw_cpu))
        print(
            f"{size:>12,}{load_s:>9.1f}{gate_ms:>10.1f}{raw_ms:>9.1f}{gate_ms / raw_ms:>9.2f}x"
            f"{gate_cpu:>10.1f}{raw_cpu:>9.1f}{gate_cpu / raw_cpu:>9.2f}x{m['window'][0]:>10.1f}"
        )
        if args.profile:
            profile(gate)
    (s0, g0, r0, gc0, rc0), (s1, g1, r1, gc1, rc1) = results[0], results[-1]
    ratio, ratio_cpu = g1 / r1, gc1 / rc1
    print(
        f"growth {s0:,} -> {s1:,} rows: gate {g1 / g0:.2f}x, raw {r1 / r0:.2f}x; CPU: gate "
        f"{gc1 / gc0:.2f}x, raw {rc1 / rc0:.2f}x (target: none, i.e. about 1x)"
    )
    verdict = "met" if ratio <= 2 else "NOT met"
    print(
        f"gate/raw at {s1:,} rows: {ratio:.2f}x wall, {ratio_cpu:.2f}x CPU "
        f"(target <= 2x: {verdict})"
    )
    services.close()
    if args.database:
        admin = make_engine(args.database).execution_options(isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {BENCH_DATABASE}"))
        admin.dispose()
    else:
        os.remove(data / "bench.db")


def fill_sql(
    engine: Any,
    start: int,
    stop: int,
    span: int,
    received: datetime,
    expires: datetime,
    purposes: tuple[str, ...],
) -> None:
    """Filler values ``start``..``stop - 1`` in one INSERT ... SELECT: exactly the rows the
    store's bulk path would write for them (``--fill store``), generated by the database."""
    import json

    from sqlalchemy import text

    t0 = int(T0.timestamp())
    cols = (
        "vehicle_id, subject_id, fleet_id, key_owner, signal, category, unit, value, "
        "value_ciphertext, ts, received_at, source, purposes, expires_at"
    )
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(
                text(
                    f"INSERT INTO telemetry ({cols}) SELECT "
                    "'filler-' || lpad((k % :vehicles)::text, 4, '0'), NULL, NULL, "
                    "'vehicle:filler-' || lpad((k % :vehicles)::text, 4, '0'), "
                    "'Vehicle.TraveledDistance', 'vehicle_status', 'km', k::text || '.0', NULL, "
                    "to_timestamp(:t0 + (k % :span) * 60) "
                    "+ (k / :span + 1) * interval '1 microsecond', "
                    ":received, 'http', :purposes, :expires "
                    "FROM generate_series(CAST(:start AS bigint), :stop - 1) AS k"
                ),
                {"vehicles": FILLER_VEHICLES, "t0": t0, "span": span, "received": received,
                 "purposes": json.dumps(list(purposes)), "expires": expires, "start": start,
                 "stop": stop},
            )  # fmt: skip
        else:
            conn.execute(
                text(
                    "WITH RECURSIVE n(k) AS (SELECT :start UNION ALL SELECT k + 1 FROM n "
                    f"WHERE k + 1 < :stop) INSERT INTO telemetry ({cols}) SELECT "
                    "printf('filler-%04d', k % :vehicles), NULL, NULL, "
                    "printf('vehicle:filler-%04d', k % :vehicles), 'Vehicle.TraveledDistance', "
                    "'vehicle_status', 'km', printf('%.1f', k), NULL, "
                    "strftime('%Y-%m-%d %H:%M:%S', :t0 + (k % :span) * 60, 'unixepoch') "
                    "|| printf('.%06d', k / :span + 1), :received, 'http', :purposes, :expires "
                    "FROM n"
                ),
                {"vehicles": FILLER_VEHICLES, "t0": t0, "span": span,
                 "received": _sqlite_time(received), "purposes": json.dumps(list(purposes)),
                 "expires": _sqlite_time(expires), "start": start, "stop": stop},
            )  # fmt: skip


def profile(call: Callable[[], int]) -> None:
    """Where the gate's time goes: cProfile of three reads, the top functions by own time."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(3):
        call()
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def _sqlite_time(value: datetime) -> str:
    v = value.astimezone(UTC)
    return v.strftime("%Y-%m-%d %H:%M:%S.%f")


if __name__ == "__main__":
    main()
