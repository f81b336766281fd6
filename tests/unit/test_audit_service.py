"""AuditService with in-memory fakes: pseudonyms, checkpoints, observers."""

from __future__ import annotations

from datetime import UTC, datetime

from carprivacy.domain.access import (
    Caller,
    CallerKind,
    Decision,
    DecisionRequest,
    Outcome,
    Reason,
    Role,
)
from carprivacy.domain.audit import AuditEntry
from carprivacy.domain.policy import Form
from carprivacy.services.audit.ports import AuditTrail
from carprivacy.services.audit.trail import AuditService
from carprivacy.testing.audit import (
    FakeCheckpointSigner,
    InMemoryAuditLogRepository,
    InMemoryAuditTrail,
)

AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
RND = Caller("m_rnd", CallerKind.MACHINE, Role.RND_ANALYST, "mini_ag")


def service(every: int = 1000, key: bytes = b"p" * 32) -> AuditService:
    return AuditService(
        InMemoryAuditLogRepository(),
        FakeCheckpointSigner(b"\x01" * 32),
        key,
        lambda: AT,
        checkpoint_every=every,
    )


def pair(
    subject: str | None = "cust-42", vehicle: str | None = "WMW12345678901234", allow: bool = True
) -> tuple[DecisionRequest, Decision]:
    req = DecisionRequest(
        RND, "product_development", ("vehicle_status",), AT, subject_id=subject, vehicle_id=vehicle
    )
    reason = Reason(
        "form.pseudonymised" if allow else "consent.required", "Art. 6(1)(f) GDPR", "C", "m"
    )
    dec = Decision(
        Outcome.ALLOW if allow else Outcome.DENY,
        "product_development",
        ("vehicle_status",),
        (reason,),
        Form.PSEUDONYMISED,
        at=AT,
    )
    return req, dec


def test_both_implementations_satisfy_the_audit_trail_port() -> None:
    trails: list[AuditTrail] = [service(), InMemoryAuditTrail()]
    for trail in trails:
        trail.record(*pair())
    fake = trails[1]
    assert isinstance(fake, InMemoryAuditTrail) and fake.decisions[0].rule == "form.pseudonymised"


def test_entries_name_who_what_why_but_hold_only_keyed_pseudonyms() -> None:
    svc = service()
    svc.record(*pair())
    svc.record(*pair(allow=False))
    allow, deny = svc.repository.entries  # type: ignore[attr-defined]
    assert (allow.caller_id, allow.organisation, allow.role, allow.purpose) == (
        "m_rnd",
        "mini_ag",
        "rnd_analyst",
        "product_development",
    )
    assert (allow.outcome, allow.rule, allow.form) == (
        "allow",
        "form.pseudonymised",
        "pseudonymised",
    )
    assert (deny.outcome, deny.rule, deny.form) == ("deny", "consent.required", "")
    text = repr(svc.repository.entries)  # type: ignore[attr-defined]
    assert "cust-42" not in text and "WMW12345678901234" not in text
    assert allow.subject_ref == svc.subject_ref("cust-42") != svc.vehicle_ref("cust-42")
    # another key gives other pseudonyms: the log cannot be joined without the key
    assert service(key=b"q" * 32).subject_ref("cust-42") != allow.subject_ref


def test_checkpoints_are_signed_every_n_entries_and_verify() -> None:
    svc = service(every=4)
    svc.record_many([pair() for _ in range(10)])  # one append: one checkpoint at its end
    svc.record(*pair())
    svc.record_many([pair(subject=None, vehicle=None) for _ in range(3)])
    assert [c.seq for c in svc.repository.checkpoints()] == [10, 14]
    assert svc.verify().ok and svc.checkpoint() is None


def test_observers_see_every_appended_entry_in_order() -> None:
    svc = service()
    seen: list[AuditEntry] = []
    svc.observers.append(seen.extend)
    svc.record_many([pair() for _ in range(3)])
    svc.record(*pair())
    assert [e.seq for e in seen] == [1, 2, 3, 4]


def test_a_foreign_signing_key_does_not_verify() -> None:
    svc = service()
    svc.record(*pair())
    svc.checkpoint()
    other = AuditService(svc.repository, FakeCheckpointSigner(b"\x02" * 32), b"p" * 32, lambda: AT)
    result = other.verify()
    assert result.finding is not None and result.finding.tamper.value == "checkpoint"
