"""Chain integrity against the witness (SPEC U3): any single modification, deletion or
truncation of the stored log is found, and verify names the first bad entry."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from carprivacy.domain.audit import AuditRecord
from carprivacy.services.audit.trail import AuditService
from carprivacy.testing.audit import (
    FakeCheckpointSigner,
    InMemoryAuditLogRepository,
    InMemoryAuditWitness,
)


def _service(n: int, checkpoint_every: int) -> AuditService:
    at = [datetime(2026, 11, 25, tzinfo=UTC)]

    def clock() -> datetime:
        at[0] += timedelta(seconds=1)
        return at[0]

    svc = AuditService(
        InMemoryAuditLogRepository(),
        FakeCheckpointSigner(),
        b"k" * 32,
        clock,
        checkpoint_every=checkpoint_every,
        witness=InMemoryAuditWitness(),
    )
    svc.open_witness()
    for i in range(n):
        record = AuditRecord(
            at=f"2026-11-25T00:00:{i:02d}.000000+00:00",
            caller_id=f"c{i % 3}",
            organisation="o",
            role="dealer",
            purpose="p",
            subject_ref="",
            vehicle_ref="",
            categories="x",
            outcome="deny",
            rule="r",
            form="",
        )
        svc.append([record])
    return svc


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(1, 25),
    every=st.integers(1, 30),
    kind=st.sampled_from(["modify", "delete", "truncate"]),
    data=st.data(),
)
def test_any_single_change_is_found_at_its_entry(
    n: int, every: int, kind: str, data: st.DataObject
) -> None:
    svc = _service(n, every)
    assert svc.verify().ok
    repo = svc.repository
    assert isinstance(repo, InMemoryAuditLogRepository)
    seq = data.draw(st.integers(1, n), label="seq")
    if kind == "modify":
        field = data.draw(st.sampled_from(["caller_id", "outcome", "rule", "at", "hash"]))
        old = repo.entries[seq - 1]
        repo.entries[seq - 1] = replace(old, **{field: getattr(old, field) + "x"})
    elif kind == "delete":
        del repo.entries[seq - 1]
    else:
        del repo.entries[seq - 1 :]
        repo.stored_checkpoints[:] = [c for c in repo.stored_checkpoints if c.seq < seq]
    result = svc.verify()
    assert result.finding is not None
    assert result.finding.seq == seq


@settings(max_examples=100, deadline=None)
@given(n=st.integers(0, 20), data=st.data())
def test_a_removed_witness_head_is_found(n: int, data: st.DataObject) -> None:
    svc = _service(n, 1000)
    witness = svc.witness
    assert isinstance(witness, InMemoryAuditWitness)
    if len(witness.stored) < 2:
        return
    i = data.draw(st.integers(0, len(witness.stored) - 2), label="head")
    del witness.stored[i]
    assert not svc.verify().ok
