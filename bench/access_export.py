"""Access export benchmark: a person's whole copy (Art. 15(3)) as streamed JSON, with ``--records``
telemetry values of their vehicle, against a raw SELECT of the same rows plus JSON writing.

    .venv/bin/python bench/access_export.py [--records 1000000] [--repeat 1] [--database URL]
    .venv/bin/python bench/access_export.py --records 100000 --repeat 3   # the quick figure

A fresh store (SQLite in a temporary directory; with ``--database``, a PostgreSQL server URL, a
database of its own that the benchmark creates and finally drops) gets one customer with a
vehicle, an owner period and a contract, and ``--records`` values (one a second, half
``Vehicle.TraveledDistance``, half ``Vehicle.Speed``: sensitive, sealed under the customer's data
key by the real envelope cipher) through the store's own bulk path. Then, taking turns:

- **export**: ``AccessExportService.copy(subject, "json")`` as the person (what
  ``GET /v1/me/requests/{id}/download?format=json`` streams): the report, every section through
  the gate (decided, audited, opened only once allowed), written as one JSON document a chunk at
  a time into a sink that counts the bytes;
- **raw**: one SELECT of the same telemetry rows (by subject, on the driver), each sealed value
  decrypted with the same cipher, each row written as JSON into the same kind of sink.

Prints the median wall and CPU milliseconds of each, the ratio (target: export at most 2x raw)
and the peak resident memory of the process while each ran (target: under 200 MB), sampled
every 20 ms from ``/proc/self/statm``.
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

VIN = "WMW31DH0402B00077"
BATCH = 20_000
BENCH_DATABASE = "carprivacy_bench_access_export"
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


class PeakMemory:
    """The largest resident set seen while the block ran (sampled)."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes())
            self._stop.wait(0.02)

    def __enter__(self) -> PeakMemory:
        self.peak = rss_bytes()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())


def drain(chunks: Iterable[bytes]) -> int:
    n = 0
    for chunk in chunks:
        n += len(chunk)
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--database", default=None, help="a PostgreSQL URL (default: SQLite)")
    args = parser.parse_args()

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
    from carprivacy.services.exports.writers import encode

    data = Path(tempfile.mkdtemp(prefix="carprivacy-access-export-"))
    url = f"sqlite:///{data / 'bench.db'}"
    if args.database:
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
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=args.records + 3600)
    person = m.register_customer(
        ContactDetails("Bench", "Bo", "Markt", "1", "2611 GS", "Delft", "NL", "bo@x.nl", None)
    )
    vehicle = m.register_vehicle(VIN, "MINI Cooper SE", "Red")
    m.add_usage(vehicle.id, UsageKind.OWNER, t0 - timedelta(days=1), customer_id=person.id)
    m.conclude_contract(person.id, vehicle.id, t0 - timedelta(days=1), ["teleservices"])
    cipher, store = services.cipher, services.telemetry
    received, expires = datetime.now(UTC), datetime.now(UTC) + timedelta(days=365)
    purposes = ("contract_performance",)
    owner = f"subject:{person.id}"

    start = time.perf_counter()
    for first in range(0, args.records, BATCH):
        rows: list[TelemetryRow] = []
        for i in range(first, min(first + BATCH, args.records)):
            ts = t0 + timedelta(seconds=i)
            if i % 2:
                sealed = cipher.encrypt(
                    owner,
                    str(float(i % 130)).encode(),
                    aad_for(vehicle.id, "Vehicle.Speed", ts, "http"),
                )
                rows.append(
                    TelemetryRow(
                        vehicle.id,
                        person.id,
                        None,
                        owner,
                        "Vehicle.Speed",
                        "position_movement",
                        "km/h",
                        None,
                        sealed,
                        ts,
                        received,
                        "http",
                        purposes,
                        expires,
                    )  # fmt: skip
                )
            else:
                rows.append(
                    TelemetryRow(
                        vehicle.id,
                        person.id,
                        None,
                        owner,
                        "Vehicle.TraveledDistance",
                        "vehicle_status",
                        "km",
                        str(1000.0 + i),
                        None,
                        ts,
                        received,
                        "http",
                        purposes,
                        expires,
                    )  # fmt: skip
                )
        assert store.store(rows, []).committed
    load_s = time.perf_counter() - start
    if args.database:  # as autovacuum would after a load: the planner knows the table
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE telemetry"))

    me = Caller("bo", CallerKind.PERSON, Role.CUSTOMER, "mini_nl", subject_id=person.id)
    exports = services.rights.exports
    raw_sql = (
        "SELECT vehicle_id, signal, value, value_ciphertext, key_owner, ts, source, unit, category "
        "FROM telemetry WHERE subject_id = {p} ORDER BY ts, id"
    ).format(p="%s" if args.database else "?")

    def export() -> int:
        return drain(exports.copy(person.id, "json", caller=me, action="bench"))

    def raw() -> int:
        conn: Any = engine.raw_connection()
        try:
            cur = conn.cursor()
            cur.execute(raw_sql, (person.id,))
            n = 0
            parts: list[str] = []
            size = 0
            while True:
                found = cur.fetchmany(5000)
                if not found:
                    break
                for vid, signal, value, sealed, key_owner, ts, source, unit, category in found:
                    when = ts if args.database else datetime.fromisoformat(ts).replace(tzinfo=UTC)
                    if value is None:
                        aad = aad_for(vid, signal, when, source)
                        value = cipher.decrypt(key_owner, bytes(sealed), aad).decode()
                    row = {
                        "ts": when.isoformat(),
                        "signal": signal,
                        "value": decode_value(value),
                        "unit": unit,
                        "category": category,
                        "vehicle_id": vid,
                        "subject_id": person.id,
                    }
                    text_row = encode(row)
                    parts.append(text_row)
                    size += len(text_row)
                    if size >= 256 * 1024:
                        n += len("".join(parts).encode())
                        parts, size = [], 0
            n += len("".join(parts).encode())
            cur.close()
            return n
        finally:
            conn.close()

    calls: dict[str, Callable[[], int]] = {"export": export, "raw": raw}
    wall: dict[str, list[float]] = {k: [] for k in calls}
    cpu: dict[str, list[float]] = {k: [] for k in calls}
    peak: dict[str, int] = {k: 0 for k in calls}
    size: dict[str, int] = {}
    for _ in range(args.repeat):
        for name, call in calls.items():
            with PeakMemory() as mem:
                s, c = time.perf_counter(), time.process_time()
                size[name] = call()
                cpu[name].append((time.process_time() - c) * 1000)
                wall[name].append((time.perf_counter() - s) * 1000)
            peak[name] = max(peak[name], mem.peak)
    store_name = "PostgreSQL" if args.database else "SQLite"
    print(
        f"store: {store_name}; {args.records:,} telemetry values of one subject; "
        f"load {load_s:.1f} s; repeat {args.repeat}"
    )
    for name in calls:
        print(
            f"{name:>7}: wall {statistics.median(wall[name]):>10.0f} ms  cpu "
            f"{statistics.median(cpu[name]):>10.0f} ms  bytes {size[name]:>12,}  "
            f"peak RSS {peak[name] / 2**20:>6.1f} MB"
        )
    ratio = statistics.median(wall["export"]) / statistics.median(wall["raw"])
    ratio_cpu = statistics.median(cpu["export"]) / statistics.median(cpu["raw"])
    print(
        f"export/raw: wall {ratio:.2f}x, cpu {ratio_cpu:.2f}x (target <= 2x); "
        f"export peak RSS {peak['export'] / 2**20:.0f} MB (target < 200 MB)"
    )
    services.close()
    engine.dispose()
    if args.database:
        admin = make_engine(args.database).execution_options(isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {BENCH_DATABASE}"))
        admin.dispose()


if __name__ == "__main__":
    main()
