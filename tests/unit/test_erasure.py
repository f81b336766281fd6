"""Erasure's judgement and phases on the fakes (SPEC R3, P1; Art. 17): the statutory term of the
financial records to the microsecond against dateutil, the order of the exemptions, the scope of
each controller, and an erasure stopped after any phase resuming to the same end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given
from hypothesis import strategies as st

from carprivacy.bootstrap import policy_documents
from carprivacy.domain.access import Caller, CallerKind, Role
from carprivacy.domain.erasure import ALL, ErasureState, Exemption, Portion, judge
from carprivacy.domain.legal_holds import LegalHold
from carprivacy.domain.policy import Policy
from carprivacy.services.audit.trail import AuditService
from carprivacy.services.erasure.service import ErasureService
from carprivacy.testing import (
    FakeCheckpointSigner,
    FakeClock,
    InMemoryAuditLogRepository,
    InMemoryAuditWitness,
    InMemoryEmailOutbox,
    InMemoryErasureStore,
    InMemoryFieldCipher,
    InMemoryLegalHoldRepository,
    InMemoryShredList,
)

POLICY: Policy = policy_documents().load(Path("policies/mini-connected-nl.yaml"))
NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)
OFFICER = Caller("dpo-1", CallerKind.PERSON, Role.PRIVACY_OFFICER, "mini_nl")
moments = st.datetimes(
    min_value=datetime(2010, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
)


@given(booked=moments, as_of=moments)
def test_a_payment_is_kept_exactly_while_its_ten_years_run(
    booked: datetime, as_of: datetime
) -> None:
    portion = Portion("payment_transactions", "financial_transactions", 1, "p", anchor=booked)
    verdict = judge(POLICY, ALL, "s", portion, [], as_of)
    running = booked + relativedelta(years=10) > as_of
    assert verdict.kept is running
    if running:
        assert verdict.exemption is Exemption.STATUTORY_RETENTION
        assert verdict.detail == "financial_ten_years"
        assert verdict.until == booked + relativedelta(years=10)


def test_each_controller_erases_what_it_holds() -> None:
    contact = Portion("customers", "contact", 1)
    group = Portion("accounts", "account", 1, controller="mini_ag", row_id="a1")
    position = Portion("telemetry", "position_movement", 9, vehicle_id="v1")
    at_ag = [judge(POLICY, "mini_ag", "s", p, [], NOW) for p in (contact, group, position)]
    assert [v.exemption for v in at_ag] == [Exemption.OTHER_CONTROLLER, None, None]
    at_nl = [judge(POLICY, "mini_nl", "s", p, [], NOW) for p in (contact, group, position)]
    assert [v.exemption for v in at_nl] == [
        None,
        Exemption.OTHER_CONTROLLER,
        Exemption.OTHER_CONTROLLER,
    ]
    assert not any(judge(POLICY, ALL, "s", p, [], NOW).kept for p in (contact, group, position))


def test_a_hold_keeps_what_it_covers_only() -> None:
    hold = LegalHold("h1", "s", None, "position_movement", "claims", "dpo", NOW)
    position = Portion("telemetry", "position_movement", 9, vehicle_id="v1")
    status = Portion("telemetry", "vehicle_status", 9, vehicle_id="v1")
    assert judge(POLICY, ALL, "s", position, [hold], NOW).exemption is Exemption.LEGAL_HOLD
    assert not judge(POLICY, ALL, "s", status, [hold], NOW).kept
    assert not judge(POLICY, ALL, "other", position, [hold], NOW).kept
    released = LegalHold("h2", "s", None, None, "claims", "dpo", NOW, released_at=NOW)
    assert not judge(POLICY, ALL, "s", position, [released], NOW).kept


def service(
    store: InMemoryErasureStore, cipher: InMemoryFieldCipher, stop: ErasureState | None = None
) -> tuple[ErasureService, InMemoryEmailOutbox, InMemoryShredList]:
    def after(state: ErasureState) -> None:
        if state is stop:
            raise KeyboardInterrupt

    outbox = InMemoryEmailOutbox()
    shreds = InMemoryShredList()
    audit = AuditService(
        InMemoryAuditLogRepository(),
        FakeCheckpointSigner(),
        b"k" * 32,
        FakeClock(NOW),
        witness=InMemoryAuditWitness(),
    )
    svc = ErasureService(
        POLICY,
        store,
        cipher,
        InMemoryLegalHoldRepository(),
        audit,
        outbox,
        lambda subject: "person@example.org",
        shreds,
        FakeClock(NOW),
        after_phase=after,
    )
    return svc, outbox, shreds


def world() -> tuple[InMemoryErasureStore, InMemoryFieldCipher]:
    cipher = InMemoryFieldCipher()
    owner = "subject:s"
    store = InMemoryErasureStore(
        subjects={
            "s": [
                Portion("customers", "contact", 1),
                Portion(
                    "payment_transactions",
                    "financial_transactions",
                    1,
                    row_id="p1",
                    anchor=NOW - timedelta(days=400),
                ),
                Portion("telemetry", "position_movement", 3, vehicle_id="v1"),
            ]
        },
        sealed={
            ("s", "payment_transactions"): [
                cipher.encrypt(owner, b"NL**1234", b"payment_transactions/0")
            ],
            ("s", "telemetry"): [
                cipher.encrypt(owner, b"52.1", f"telemetry/{i}".encode()) for i in range(3)
            ],
        },
    )
    return store, cipher


@pytest.mark.parametrize("stop", [None, *list(ErasureState)[1:]])
def test_the_phases_resume_to_the_same_end(stop: ErasureState | None) -> None:
    store, cipher = world()
    if stop is not None:
        first, _, _ = service(store, cipher, stop)
        with pytest.raises(KeyboardInterrupt):
            first.erase("s", OFFICER, "R-1")
    svc, _outbox, _shreds = service(store, cipher)
    report = svc.erase("s", OFFICER, "R-1")
    assert report.state == "completed" and report.key_destroyed
    assert cipher.is_destroyed("subject:s")
    [payment] = store.sealed[("s", "payment_transactions")]
    assert cipher.decrypt("subject:s", payment, b"payment_transactions/0") == b"NL**1234"
    assert ("s", "telemetry") not in store.sealed
    assert {p.table for p in store.subjects["s"]} == {"customers", "payment_transactions"}
    kept = {(g.table, g.exemption) for g in report.kept}
    assert kept == {
        ("customers.name_address", "statutory_retention"),
        ("payment_transactions", "statutory_retention"),
    }
    assert [r.state for r in store.records] == [ErasureState.COMPLETED]


def test_the_shred_entry_comes_before_the_key_is_gone_and_names_no_id() -> None:
    store, cipher = world()
    svc, outbox, shreds = service(store, cipher, ErasureState.NOTIFIED)
    with pytest.raises(KeyboardInterrupt):
        svc.erase("s", OFFICER, "R-1")
    assert not shreds.entries() and not cipher.is_destroyed("subject:s")
    assert len(outbox.sent) == 1 and "Art. 17(3)(b)" in outbox.sent[0].body
    svc, _, shreds = service(store, cipher)
    svc.erase("s", OFFICER, "R-1")
    [entry] = shreds.entries()
    assert "s" not in (entry.subject_ref, *entry.owner_refs) and len(entry.owner_refs) == 1
