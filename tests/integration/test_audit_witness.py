"""The audit log cannot be cut unseen (SPEC U3): every commit's signed head goes to a witness
file outside the database; verify finds truncation, deleted checkpoints with the rows they
cover, an emptied log and consistent rewrites, and names the first bad entry. SQLite and
PostgreSQL."""

from __future__ import annotations

import json
import stat
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, update

from carprivacy.adapters.crypto.signing import Ed25519CheckpointSigner
from carprivacy.adapters.db.repositories.access import SqlAuditLogRepository
from carprivacy.adapters.db.tables.access import audit_checkpoints, audit_log
from carprivacy.adapters.witness.file import FileAuditWitness
from carprivacy.domain.access import Caller, CallerKind, Decision, DecisionRequest, Outcome, Role
from carprivacy.domain.audit import GENESIS_HASH, AuditRecord, Tamper, seal
from carprivacy.services.audit.trail import AuditService

N = 30
EVERY = 10


def _service(engine: Engine, witness_path: Path) -> AuditService:
    at = [datetime(2026, 11, 25, 12, 0, tzinfo=UTC)]

    def clock() -> datetime:
        at[0] += timedelta(seconds=1)
        return at[0]

    svc = AuditService(
        SqlAuditLogRepository(engine),
        Ed25519CheckpointSigner(b"w" * 32),
        b"k" * 32,
        clock,
        checkpoint_every=EVERY,
        witness=FileAuditWitness(witness_path),
    )
    svc.open_witness()
    return svc


def _record(svc: AuditService, n: int) -> None:
    caller = Caller("p_1", CallerKind.PERSON, Role.DEALER, "dealers")
    for i in range(n):
        req = DecisionRequest(
            caller, "after_sales_service", ("vehicle_status",), svc.clock(), vehicle_id=f"v{i}"
        )
        svc.record(req, Decision(Outcome.DENY, "after_sales_service", ("vehicle_status",), ()))


@pytest.fixture
def filled(engine: Engine, tmp_path: Path) -> AuditService:
    svc = _service(engine, tmp_path / "witness" / "audit.jsonl")
    _record(svc, N)
    assert svc.verify().ok
    return svc


def _first_bad(svc: AuditService) -> int:
    result = svc.verify()
    assert result.finding is not None, "tampering not found"
    return result.finding.seq


def test_witness_file_is_private_and_append_only(filled: AuditService, tmp_path: Path) -> None:
    path = tmp_path / "witness" / "audit.jsonl"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = path.read_text().splitlines()
    assert len(lines) == N + 1  # the head at creation and one per commit
    assert json.loads(lines[0])["seq"] == 0


def test_deleting_the_last_rows_is_found(filled: AuditService, engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq > N - 3))
    assert _first_bad(filled) == N - 2


def test_deleting_every_row_after_the_last_checkpoint_is_found(
    filled: AuditService, engine: Engine, tmp_path: Path
) -> None:
    _record(filled, 5)  # N + 5 entries, the last checkpoint at N
    with engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq > N))
    assert _first_bad(filled) == N + 1


def test_deleting_checkpoints_with_the_rows_they_cover_is_found(
    filled: AuditService, engine: Engine
) -> None:
    cut = EVERY  # keep the first checkpoint, delete the later ones and their rows
    with engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq > cut))
        conn.execute(delete(audit_checkpoints).where(audit_checkpoints.c.seq > cut))
    assert _first_bad(filled) == cut + 1


def test_deleting_everything_is_found(filled: AuditService, engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(delete(audit_log))
        conn.execute(delete(audit_checkpoints))
    result = filled.verify()
    assert result.finding is not None and result.finding.seq == 1
    assert result.finding.tamper is Tamper.REMOVED


def _rewrite_from(engine: Engine, svc: AuditService, seq: int, *, checkpoints: bool) -> None:
    """What an attacker with the database would do: change entry ``seq``, recompute every hash
    after it, and (optionally) drop the checkpoints that no longer match."""
    entries = list(svc.repository.iter_entries())
    prev = entries[seq - 2].hash if seq > 1 else GENESIS_HASH
    with engine.begin() as conn:
        for e in entries[seq - 1 :]:
            record = replace(e, outcome="allow") if e.seq == seq else e
            fields = {k: v for k, v in record.content().items() if k not in ("seq", "prev_hash")}
            new = seal(AuditRecord(**fields), e.seq, prev)  # type: ignore[arg-type]
            conn.execute(
                update(audit_log)
                .where(audit_log.c.seq == e.seq)
                .values(outcome=new.outcome, prev_hash=new.prev_hash, hash=new.hash)
            )
            prev = new.hash
        if checkpoints:
            conn.execute(delete(audit_checkpoints).where(audit_checkpoints.c.seq >= seq))


@pytest.mark.parametrize("seq", [1, 7, EVERY + 3, N])
def test_a_consistent_rewrite_is_found_at_its_first_entry(
    filled: AuditService, engine: Engine, seq: int
) -> None:
    _rewrite_from(engine, filled, seq, checkpoints=True)
    result = filled.verify()
    assert result.finding is not None and result.finding.seq == seq
    assert result.finding.tamper is Tamper.CHANGED


def test_a_young_log_without_any_checkpoint_is_covered(engine: Engine, tmp_path: Path) -> None:
    svc = _service(engine, tmp_path / "w.jsonl")
    _record(svc, 3)
    assert not svc.repository.checkpoints()
    _rewrite_from(engine, svc, 2, checkpoints=False)
    assert _first_bad(svc) == 2


def test_an_empty_log_is_witnessed_at_creation(engine: Engine, tmp_path: Path) -> None:
    svc = _service(engine, tmp_path / "w.jsonl")
    assert svc.verify().ok
    assert svc.witness is not None and svc.witness.last() is not None


def test_a_deleted_witness_head_breaks_the_witness_chain(
    filled: AuditService, tmp_path: Path
) -> None:
    path = tmp_path / "witness" / "audit.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:5] + lines[6:]))
    result = filled.verify()
    assert result.finding is not None and result.finding.tamper is Tamper.CHECKPOINT


def test_a_second_writer_continues_the_same_witness_chain(
    filled: AuditService, engine: Engine, tmp_path: Path
) -> None:
    other = _service(engine, tmp_path / "witness" / "audit.jsonl")
    _record(other, 3)
    _record(filled, 2)
    assert other.verify().ok
