"""Audit verify against the witness: time and peak memory as the log grows.

    .venv/bin/python bench/audit_verify.py [--entries 20000 200000] [--batch 100]

For each size: a fresh SQLite log of that many entries written through ``AuditService.append``
(``--batch`` entries a commit, so one witness head a commit) with an append-only witness file,
then ``AuditService.verify`` timed, then run once more under tracemalloc for its peak Python
allocation. Baseline: the same streamed read of every entry without checking anything
(``iter_entries``), so the ratio is what checking adds to reading. Constant memory means the
peak does not grow with the entries.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

from carprivacy.adapters.crypto.signing import Ed25519CheckpointSigner
from carprivacy.adapters.db.base import load_all_tables
from carprivacy.adapters.db.engine import make_engine
from carprivacy.adapters.db.repositories.access import SqlAuditLogRepository
from carprivacy.adapters.witness.file import FileAuditWitness
from carprivacy.domain.audit import AuditRecord
from carprivacy.services.audit.trail import AuditService


def _record(i: int) -> AuditRecord:
    return AuditRecord(
        at=f"2026-11-25T12:00:00.{i % 1000000:06d}+00:00",
        caller_id=f"caller-{i % 50}",
        organisation="dealers",
        role="dealer",
        purpose="after_sales_service",
        subject_ref=f"{i % 997:032x}",
        vehicle_ref=f"{i % 991:032x}",
        categories="vehicle_status",
        outcome="allow" if i % 3 else "deny",
        rule="form.vehicle_linked",
        form="vehicle_linked",
    )


def run(entries: int, batch: int, folder: Path) -> None:
    engine = make_engine(f"sqlite:///{folder / f'audit-{entries}.db'}")
    load_all_tables().create_all(engine)
    svc = AuditService(
        SqlAuditLogRepository(engine),
        Ed25519CheckpointSigner(b"b" * 32),
        b"k" * 32,
        lambda: datetime.now(UTC),
        witness=FileAuditWitness(folder / f"witness-{entries}.jsonl"),
    )
    svc.open_witness()
    t0 = time.perf_counter()
    for start in range(0, entries, batch):
        svc.append([_record(i) for i in range(start, min(entries, start + batch))])
    write_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    read = sum(1 for _ in svc.repository.iter_entries())
    read_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    result = svc.verify()
    verify_s = time.perf_counter() - t0
    assert result.ok and result.entries_checked == entries == read, result

    tracemalloc.start()
    svc.verify()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    engine.dispose()
    print(
        f"{entries:>8} entries, {result.heads_checked:>6} witness heads, "
        f"{result.checkpoints_checked:>4} checkpoints: write {write_s:6.1f} s; "
        f"baseline read {read_s:5.2f} s; verify {verify_s:5.2f} s "
        f"({entries / verify_s:,.0f} entries/s, ratio {verify_s / read_s:.1f}x the read); "
        f"verify peak {peak / 2**20:.1f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, nargs="+", default=[20000, 200000])
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for n in args.entries:
            run(n, args.batch, Path(folder))


if __name__ == "__main__":
    main()
