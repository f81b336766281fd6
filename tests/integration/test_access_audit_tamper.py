"""Single-byte changes made directly in the database are found, on SQLite and PostgreSQL
(any change of any stored field of any entry; verify names that entry)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select, update

from carprivacy.adapters.crypto.signing import Ed25519CheckpointSigner
from carprivacy.adapters.db.repositories.access import SqlAuditLogRepository
from carprivacy.adapters.db.tables.access import audit_log
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

N = 8
TEXT_FIELDS = tuple(f for f in ENTRY_FIELDS if f != "seq")


def _fill(engine: Engine) -> AuditService:
    at = [datetime(2026, 11, 25, 12, 0, tzinfo=UTC)]

    def clock() -> datetime:
        at[0] += timedelta(seconds=1)
        return at[0]

    svc = AuditService(
        SqlAuditLogRepository(engine), Ed25519CheckpointSigner(b"z" * 32), b"k" * 32, clock
    )
    caller = Caller("p_7", CallerKind.PERSON, Role.DEALER, "dealers")
    for i in range(N):
        req = DecisionRequest(
            caller, "after_sales_service", ("vehicle_status",), at[0], vehicle_id=f"veh-{i}"
        )
        reason = Reason("form.vehicle_linked", "Art. 6(1)(f) GDPR", "D", "m")
        svc.record(
            req,
            Decision(
                Outcome.ALLOW,
                "after_sales_service",
                ("vehicle_status",),
                (reason,),
                Form.VEHICLE_LINKED,
            ),
        )
    svc.checkpoint()
    return svc


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_a_byte_changed_in_any_column_of_any_row_is_found(
    engine: Engine, data: st.DataObject
) -> None:
    with engine.connect() as conn:
        empty = conn.execute(select(audit_log.c.seq).limit(1)).first() is None
    svc = (
        _fill(engine)
        if empty
        else AuditService(
            SqlAuditLogRepository(engine),
            Ed25519CheckpointSigner(b"z" * 32),
            b"k" * 32,
            lambda: datetime.now(UTC),
        )
    )
    seq = data.draw(st.integers(1, N), label="seq")
    column = data.draw(st.sampled_from(TEXT_FIELDS), label="column")
    with engine.connect() as conn:
        original = conn.execute(
            select(audit_log.c[column]).where(audit_log.c.seq == seq)
        ).scalar_one()
    raw = bytearray(original.encode("ascii"))
    if raw:
        i = data.draw(st.integers(0, len(raw) - 1), label="index")
        raw[i] = data.draw(st.sampled_from([b for b in range(0x21, 0x7F) if b != raw[i]]))
        changed = raw.decode("ascii")
    else:
        changed = data.draw(st.sampled_from("abc0"))
    with engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == seq).values({column: changed}))
    try:
        result = svc.verify()
        assert result.finding is not None, (seq, column)
        assert result.finding.seq == seq
    finally:
        with engine.begin() as conn:
            conn.execute(update(audit_log).where(audit_log.c.seq == seq).values({column: original}))
    assert svc.verify().ok
