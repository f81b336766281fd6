"""Audit log benchmark: appending decisions to the hash chain, and verifying it,
against a raw insert of the same rows into the same table, in the same run.

    .venv/bin/python bench/audit.py [--url sqlite:///var/bench-audit.db] [--entries 20000]

- baseline: SQLAlchemy Core ``insert`` executemany of ready-made rows (no hashing), 1,000 a batch;
- chain, batched: ``AuditService.record_many`` of 1,000 decisions (pseudonyms, canonical JSON,
  SHA-256 chain, one transaction per batch);
- chain, single: ``AuditService.record`` once per decision (one transaction each: what one API
  read costs);
- verify: ``AuditService.verify`` over everything written (read, re-hash, check links).

Prints entries per second and the ratio to the baseline. Wall-clock time, one process, one run:
on a shared machine, read the ratios rather than the absolute figures.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

from sqlalchemy import insert

from carprivacy.adapters.crypto.signing import Ed25519CheckpointSigner
from carprivacy.adapters.db.base import load_all_tables
from carprivacy.adapters.db.engine import make_engine
from carprivacy.adapters.db.repositories.access import SqlAuditLogRepository
from carprivacy.adapters.db.tables.access import audit_checkpoints, audit_log
from carprivacy.domain.access import (
    Caller,
    CallerKind,
    Decision,
    DecisionRequest,
    Outcome,
    Reason,
    Role,
)
from carprivacy.domain.audit import ENTRY_FIELDS
from carprivacy.domain.policy import Form
from carprivacy.services.audit.trail import AuditService

CALLER = Caller("p_bench", CallerKind.PERSON, Role.CUSTOMER_SERVICE, "mini_nl")
REASON = Reason("purpose.allowed", "Art. 6(1)(b) GDPR", "E", "bench")


def pair(i: int) -> tuple[DecisionRequest, Decision]:
    now = datetime.now(UTC)
    req = DecisionRequest(CALLER, "customer_service", ("contact",), now, subject_id=f"s{i}")
    dec = Decision(Outcome.ALLOW, "customer_service", ("contact",), (REASON,), Form.IDENTIFIED)
    return req, dec


def reset(engine) -> None:  # type: ignore[no-untyped-def]
    md = load_all_tables()
    for t in (audit_checkpoints, audit_log):
        md.tables[t.name].drop(engine, checkfirst=True)
    for t in (audit_log, audit_checkpoints):
        md.tables[t.name].create(engine)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="sqlite:///var/bench-audit.db")
    ap.add_argument("--entries", type=int, default=20_000)
    ap.add_argument("--single", type=int, default=1_000)
    args = ap.parse_args()
    engine = make_engine(args.url)
    n, batch = args.entries, 1000

    def service() -> AuditService:
        return AuditService(
            SqlAuditLogRepository(engine),
            Ed25519CheckpointSigner(b"b" * 32),
            b"k" * 32,
            lambda: datetime.now(UTC),
            checkpoint_every=10_000,
        )

    # baseline rows: the chain's own rows, so both write the same bytes
    reset(engine)
    svc = service()
    svc.record_many([pair(i) for i in range(batch)])
    with engine.connect() as conn:  # closed at once: PostgreSQL's DROP waits for open readers
        found = conn.execute(
            audit_log.select().with_only_columns(*[audit_log.c[f] for f in ENTRY_FIELDS])
        ).all()
    template = [dict(zip(ENTRY_FIELDS, e, strict=True)) for e in found]
    reset(engine)
    t = time.perf_counter()
    for k in range(n // batch):
        rows = [{**r, "seq": r["seq"] + k * batch} for r in template]
        with engine.begin() as conn:
            conn.execute(insert(audit_log), rows)
    raw = n / (time.perf_counter() - t)

    reset(engine)
    svc = service()
    pairs = [pair(i) for i in range(batch)]
    t = time.perf_counter()
    for _ in range(n // batch):
        svc.record_many(pairs)
    batched = n / (time.perf_counter() - t)
    t = time.perf_counter()
    for i in range(args.single):
        svc.record(*pair(i))
    single = args.single / (time.perf_counter() - t)
    t = time.perf_counter()
    result = svc.verify()
    verify = result.entries_checked / (time.perf_counter() - t)
    assert result.ok
    print(f"database: {engine.dialect.name}")
    print(f"baseline raw insert (executemany, 1,000/txn): {raw:>10,.0f} rows/s")
    print(
        f"chain append, batched 1,000/txn:               {batched:>10,.0f} entries/s "
        f"({batched / raw:.0%} of baseline)"
    )
    print(f"chain append, one decision per txn:            {single:>10,.0f} entries/s")
    print(f"verify (read + re-hash + links):               {verify:>10,.0f} entries/s")
    reset(engine)


if __name__ == "__main__":
    main()
