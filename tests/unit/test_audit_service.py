"""AuditService with in-memory fakes: pseudonyms, checkpoints, observers."""

from __future__ import annotations

from dataclasses import replace
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
from carprivacy.domain.audit import AuditEntry, Tamper
from carprivacy.domain.policy import Form
from carprivacy.services.audit.ports import AuditTrail
from carprivacy.services.audit.trail import AuditQuery, AuditService
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


def test_a_read_of_many_records_is_one_entry_naming_its_subjects() -> None:
    """U3: a page of 100 rows is one access to 100 subjects: one chained entry, the subjects
    covered by its hash, each found by the accesses-to-a-subject search."""
    svc = service()
    svc.record(*pair())  # an entry about one subject, before
    svc.record_read([pair(subject=f"c{i}", vehicle=None) for i in range(100)])
    repo = svc.repository
    assert isinstance(repo, InMemoryAuditLogRepository)
    single, listed = repo.entries
    assert single.subjects == "" and single.subject_ref == svc.subject_ref("cust-42")
    assert listed.subject_ref == "" and listed.subject_refs() == tuple(
        svc.subject_ref(f"c{i}") for i in range(100)
    )
    assert svc.verify().ok
    found = svc.find(AuditQuery(subject_ref=svc.subject_ref("c57")))
    assert [e.seq for e in found] == [listed.seq]
    shorter = listed.subjects.rsplit(",", 1)[0]  # a subject taken out of the list is found
    repo.entries[1] = replace(listed, subjects=shorter)
    finding = svc.verify().finding
    assert finding is not None and finding.seq == 2 and finding.tamper is Tamper.CHANGED


def test_a_read_is_one_entry_per_distinct_decision_and_one_subject_reads_as_a_record() -> None:
    svc = service()
    svc.record_read([pair(subject="a"), pair(subject="b", allow=False), pair(subject="a")])
    svc.record_read([pair(), pair()])  # one subject and vehicle: the entry ``record`` gives
    svc.record(*pair())
    entries = svc.repository.entries  # type: ignore[attr-defined]
    assert [(e.outcome, e.subject_refs()) for e in entries[:2]] == [
        ("allow", (svc.subject_ref("a"),)),
        ("deny", (svc.subject_ref("b"),)),
    ]
    read_one, recorded = entries[2:]
    assert (read_one.subjects, read_one.vehicles) == ("", "")
    assert read_one.content().keys() == recorded.content().keys()
    assert "subjects" not in recorded.content()  # the hash of such an entry is what it was


def test_a_read_of_several_vehicles_names_them_all() -> None:
    svc = service()
    svc.record_read([pair(subject="a", vehicle=f"v{i}") for i in range(3)])
    (entry,) = svc.repository.entries  # type: ignore[attr-defined]
    assert entry.subject_ref == svc.subject_ref("a")
    assert entry.vehicle_refs() == tuple(svc.vehicle_ref(f"v{i}") for i in range(3))
