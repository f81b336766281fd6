"""The rights-request workflow on the in-memory stores (SPEC R1-R8; Art. 12, 15-21 GDPR): who
may submit and decide, verification before anything is released or changed (session, e-mail
code, staff evidence), the deadline and its extension, and each kind carried out into the
state the consent ledger and master data record, with the person told (outbox)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from carprivacy.bootstrap import Services
from carprivacy.domain.access import Caller, CallerKind, Role
from carprivacy.domain.errors import (
    AccessDeniedError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from carprivacy.domain.master import ContactDetails
from carprivacy.domain.request_workflow import RequestState, Verification
from carprivacy.services.rights.ports import ErasureOutcome, RequestFilter
from carprivacy.testing import (
    FakeClock,
    FakeErasureExecutor,
    InMemoryStores,
    bootstrap_in_memory,
)

NOW = datetime(2026, 1, 31, 10, tzinfo=UTC)
OFFICER = Caller("officer", CallerKind.PERSON, Role.PRIVACY_OFFICER, "mini_nl")
AGENT = Caller("agent", CallerKind.PERSON, Role.CUSTOMER_SERVICE, "mini_nl")
DEALER = Caller("dealer", CallerKind.PERSON, Role.DEALER, "dealers")


@pytest.fixture
def world() -> tuple[Services, InMemoryStores, FakeClock, Caller]:
    clock = FakeClock(NOW)
    stores = InMemoryStores()
    s = bootstrap_in_memory(clock=clock, stores=stores)
    person = s.master.register_customer(
        ContactDetails("Jansen", "Eva", "Markt", "1", "2611 GS", "Delft", "NL", "eva@x.nl", None)
    )
    me = Caller("eva", CallerKind.PERSON, Role.CUSTOMER, "mini_nl", subject_id=person.id)
    return s, stores, clock, me


def test_the_persons_own_request_is_verified_by_the_session_and_due_in_a_month(world) -> None:
    s, stores, _, me = world
    stored = s.rights.requests.submit(me, "access", channel="portal")
    r = stored.request
    assert r.state is RequestState.VERIFIED and r.verification is Verification.SESSION
    assert r.deadline.due_date.isoformat() == "2026-02-28"  # 31 January: last day of February
    assert r.controller == "mini_nl"
    assert stores.outbox.sent[-1].to == "eva@x.nl"
    assert "2026-02-28" in stores.outbox.sent[-1].body
    assert [x.request.id for x in s.rights.requests.find(me, RequestFilter())] == [r.id]


def test_a_person_cannot_file_for_someone_else_and_outsiders_cannot_record(world) -> None:
    s, _, _, me = world
    with pytest.raises(AccessDeniedError):
        s.rights.requests.submit(me, "access", subject_id="someone-else")
    with pytest.raises(AccessDeniedError):
        s.rights.requests.submit(DEALER, "access", subject_id=me.subject_id)
    with pytest.raises(InvalidInputError) as bad:
        s.rights.requests.submit(AGENT, "access", subject_id=me.subject_id, controller="acme")
    assert bad.value.problems[0].path == "controller"
    with pytest.raises(InvalidInputError) as bad:
        s.rights.requests.submit(AGENT, "nonsense", subject_id=me.subject_id)
    assert bad.value.problems[0].path == "kind"
    with pytest.raises(NotFoundError):
        s.rights.requests.submit(AGENT, "access", subject_id="nobody")


def test_staff_record_for_either_controller_and_verify_by_email_code(world) -> None:
    s, stores, clock, me = world
    stored = s.rights.requests.submit(
        AGENT, "access", subject_id=me.subject_id, controller="mini_ag", channel="letter"
    )
    rid = stored.request.id
    assert stored.request.state is RequestState.RECEIVED and stored.request.controller == "mini_ag"
    with pytest.raises(InvalidInputError):  # nothing released before verification
        s.rights.fulfilment.complete(OFFICER, rid)
    with pytest.raises(AccessDeniedError):
        s.rights.fulfilment.download(OFFICER, rid)
    s.rights.requests.send_code(AGENT, rid)
    code = re.search(r" is (\d{6})\.", stores.outbox.sent[-1].body)
    assert code is not None
    with pytest.raises(InvalidInputError) as wrong:
        s.rights.requests.verify(
            AGENT, rid, "email_code", code="000000" if code[1] != "000000" else "111111"
        )
    assert wrong.value.problems[0].rule == "request.code_wrong"
    clock.advance(timedelta(minutes=1))
    done = s.rights.requests.verify(AGENT, rid, "email_code", code=code[1])
    assert done.request.state is RequestState.VERIFIED
    assert done.request.verification is Verification.EMAIL_CODE
    assert done.code is None


def test_an_email_code_expires(world) -> None:
    s, stores, clock, me = world
    rid = s.rights.requests.submit(AGENT, "access", subject_id=me.subject_id).request.id
    s.rights.requests.send_code(AGENT, rid)
    code = re.search(r" is (\d{6})\.", stores.outbox.sent[-1].body)
    assert code is not None
    clock.advance(timedelta(minutes=11))
    with pytest.raises(InvalidInputError) as late:
        s.rights.requests.verify(AGENT, rid, "email_code", code=code[1])
    assert late.value.problems[0].rule == "request.code_expired"


def test_staff_evidence_is_recorded_in_the_history(world) -> None:
    s, _, _, me = world
    rid = s.rights.requests.submit(AGENT, "access", subject_id=me.subject_id).request.id
    with pytest.raises(InvalidInputError) as bad:
        s.rights.requests.verify(AGENT, rid, "staff_evidence", evidence="  ")
    assert bad.value.problems[0].path == "evidence"
    done = s.rights.requests.verify(AGENT, rid, "staff_evidence", evidence="passport seen")
    last = done.request.history[-1]
    assert last.by == "agent" and "passport seen" in last.reason


def test_access_is_completed_told_and_downloaded_with_the_second_copy_flagged(world) -> None:
    s, stores, _, me = world
    rid = s.rights.requests.submit(me, "access").request.id
    done = s.rights.fulfilment.complete(OFFICER, rid)
    assert done.request.state is RequestState.COMPLETED
    assert [h.after for h in done.request.history][-2:] == [
        RequestState.IN_PROGRESS,
        RequestState.COMPLETED,
    ]
    assert "download" in stores.outbox.sent[-1].body
    first = s.rights.fulfilment.download(me, rid, "json")
    doc = json.loads(b"".join(first))
    assert doc["sections"]["customer"][0]["surname"] == "Jansen"
    second = s.rights.fulfilment.download(me, rid, "csv")
    b"".join(second)
    assert [c.fee_flagged for c in stores.exports.copies] == [False, True]
    other = Caller("x", CallerKind.PERSON, Role.CUSTOMER, "mini_nl", subject_id="other")
    with pytest.raises(NotFoundError):
        s.rights.fulfilment.download(other, rid)


def test_only_deciding_staff_complete_refuse_or_extend(world) -> None:
    s, _, _, me = world
    rid = s.rights.requests.submit(me, "access").request.id
    for act in (
        lambda: s.rights.fulfilment.complete(AGENT, rid),
        lambda: s.rights.requests.refuse(AGENT, rid, "no"),
        lambda: s.rights.requests.extend(AGENT, rid, 1, "busy"),
        lambda: s.rights.fulfilment.complete(me, rid),
    ):
        with pytest.raises(AccessDeniedError):
            act()


def test_refusal_tells_the_reason_and_the_complaint_route(world) -> None:
    s, stores, _, me = world
    rid = s.rights.requests.submit(me, "erasure").request.id
    with pytest.raises(InvalidInputError) as bad:
        s.rights.requests.refuse(OFFICER, rid, " ")
    assert bad.value.problems[0].rule == "request.refusal_reason"
    done = s.rights.requests.refuse(OFFICER, rid, "the contract is still running")
    assert done.request.state is RequestState.REFUSED
    told = stores.outbox.sent[-1]
    assert "the contract is still running" in told.body
    assert "Autoriteit Persoonsgegevens" in told.body and "art. 77" in told.body.lower()
    with pytest.raises(InvalidInputError):  # final
        s.rights.fulfilment.complete(OFFICER, rid)


def test_the_extension_is_told_with_its_reason_and_moves_the_deadline(world) -> None:
    s, stores, _, me = world
    rid = s.rights.requests.submit(me, "access").request.id
    done = s.rights.requests.extend(OFFICER, rid, 2, "many records across two controllers")
    assert done.request.deadline.due_date.isoformat() == "2026-04-30"
    assert "2026-04-30" in stores.outbox.sent[-1].body
    assert "many records" in stores.outbox.sent[-1].body
    with pytest.raises(InvalidInputError):
        s.rights.requests.extend(OFFICER, rid, 1, "more")


def test_nearly_due_and_overdue_requests_are_listed(world) -> None:
    s, _, clock, me = world
    early = s.rights.requests.submit(me, "access").request.id
    clock.advance(timedelta(days=20))
    later = s.rights.requests.submit(me, "objection", details={"marketing": True}).request.id
    assert [x.request.id for x in s.rights.requests.due(OFFICER)] == []
    clock.set(datetime(2026, 2, 23, 12, tzinfo=UTC))
    assert [x.request.id for x in s.rights.requests.due(OFFICER)] == [early]
    clock.set(datetime(2026, 3, 15, tzinfo=UTC))
    due = s.rights.requests.due(OFFICER)
    assert [x.request.id for x in due] == [early, later]
    assert due[0].request.standing(clock()).value == "overdue"
    s.rights.fulfilment.complete(OFFICER, early)
    assert [x.request.id for x in s.rights.requests.due(OFFICER)] == [later]


def test_rectification_keeps_the_field_history_and_lists_the_recipients(world) -> None:
    s, stores, _, me = world
    with pytest.raises(InvalidInputError) as bad:
        s.rights.requests.submit(me, "rectification", details={"changes": {"iban": "x"}})
    assert bad.value.problems[0].path == "details.changes.iban"
    rid = s.rights.requests.submit(
        me, "rectification", details={"changes": {"email": "eva@new.nl", "city": "Delft"}}
    ).request.id
    done = s.rights.fulfilment.complete(OFFICER, rid)
    assert done.request.state is RequestState.COMPLETED
    assert s.master.get_customer(me.subject_id or "").contact.email == "eva@new.nl"  # type: ignore[union-attr]
    changes = stores.rectifications.of(me.subject_id or "")
    assert [(c.field, c.old_value, c.new_value) for c in changes] == [
        ("email", "eva@x.nl", "eva@new.nl")
    ]
    assert done.outcome["fields"] == ["email"]
    assert "recipients" in done.outcome
    assert "eva@x.nl" not in done.request.history[-1].reason  # no old value in the history
    assert stores.outbox.sent[-1].to == "eva@new.nl"


def test_restriction_and_objection_end_in_the_ledger(world) -> None:
    s, stores, _, me = world
    subject = me.subject_id or ""
    with pytest.raises(InvalidInputError) as bad:
        s.rights.requests.submit(me, "restriction", details={"case": "because"})
    assert bad.value.problems[0].path == "details.case"
    rid = s.rights.requests.submit(
        me, "restriction", details={"case": "accuracy_contested", "categories": ["contact"]}
    ).request.id
    done = s.rights.fulfilment.complete(OFFICER, rid)
    state = s.consent_ledger.state(subject)
    assert [r.id for r in state.restrictions] == [done.outcome["restriction_id"]]
    assert state.restrictions[0].categories == ("contact",)
    assert "restricted" in stores.outbox.sent[-1].body or "beperkt" in stores.outbox.sent[-1].body
    oid = s.rights.requests.submit(me, "objection", details={"marketing": True}).request.id
    done = s.rights.fulfilment.complete(OFFICER, oid)
    objections = s.consent_ledger.state(subject).objections
    assert [o.id for o in objections] == [done.outcome["objection_id"]]
    assert objections[0].marketing


def test_erasure_is_handed_to_the_executor_and_what_it_kept_is_a_partial_refusal(
    world,
) -> None:
    s, stores, _, me = world
    rid = s.rights.requests.submit(me, "erasure").request.id
    with pytest.raises(ConflictError):  # no executor in this installation
        s.rights.fulfilment.complete(OFFICER, rid)
    executor = FakeErasureExecutor(
        ErasureOutcome(
            ("contact", "telemetry"),
            (("financial_transactions", "10-year statutory retention (Art. 17(3)(b) GDPR)"),),
        )
    )
    s.rights.fulfilment.erasure = executor
    done = s.rights.fulfilment.complete(OFFICER, rid)
    assert executor.calls[0][:3] == (me.subject_id, "mini_nl", rid)
    assert done.request.state is RequestState.PARTIALLY_REFUSED
    body = stores.outbox.sent[-1].body
    assert "10-year statutory retention" in body and "Autoriteit Persoonsgegevens" in body


def test_portability_exports_only_consent_and_contract_data_and_transmits(world) -> None:
    s, stores, _, me = world
    with pytest.raises(InvalidInputError) as bad:
        s.rights.requests.submit(me, "portability", details={"endpoint": "http://x.example"})
    assert bad.value.problems[0].rule == "request.https"
    rid = s.rights.requests.submit(
        me, "portability", details={"endpoint": "https://other.example/import"}
    ).request.id
    done = s.rights.fulfilment.complete(OFFICER, rid)
    assert done.request.state is RequestState.COMPLETED
    assert done.outcome["receipt"]["status"] == "delivered"
    endpoint, body, media = stores.transmitter.sent[0]
    assert endpoint == "https://other.example/import" and media == "application/json"
    doc = json.loads(body)
    left = {x["category"]: x for x in doc["export"]["scope"]["left_out"]}
    assert "financial_transactions" in left
    assert "payments" not in doc["sections"] and "customer" in doc["sections"]
    assert len(stores.exports.receipts) == 1
    again = json.loads(b"".join(s.rights.fulfilment.download(me, rid, "json")))
    assert again["sections"]["customer"][0]["surname"] == "Jansen"


def test_rectification_names_the_recipients_that_received_the_data_and_logs_no_value(
    world, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from carprivacy.domain.audit import AuditRecord

    s, stores, clock, me = world
    subject = me.subject_id or ""
    s.audit.append(
        [
            AuditRecord(
                at=clock().isoformat(timespec="microseconds"),
                caller_id="roadside-1",
                organisation="roadside_assistance",
                role="partner",
                purpose="roadside_assistance",
                subject_ref=s.audit.subject_ref(subject),
                vehicle_ref="",
                categories="contact",
                outcome="allow",
                rule="allow",
                form="identified",
            )
        ]
    )
    caplog.set_level(logging.DEBUG)
    rid = s.rights.requests.submit(
        me, "rectification", details={"changes": {"phone": "+31 6 1234 5678"}}
    ).request.id
    done = s.rights.fulfilment.complete(OFFICER, rid)
    assert [r["organisation"] for r in done.outcome["recipients"]] == ["roadside_assistance"]
    assert "roadside_assistance" in stores.outbox.sent[-1].body  # told (Art. 19)
    assert "1234 5678" not in caplog.text and "eva@x.nl" not in caplog.text
    assert "1234 5678" not in repr(done.request.history)


def test_five_wrong_codes_end_the_code(world) -> None:
    s, stores, _, me = world
    rid = s.rights.requests.submit(AGENT, "access", subject_id=me.subject_id).request.id
    s.rights.requests.send_code(AGENT, rid)
    code = re.search(r" is (\d{6})\.", stores.outbox.sent[-1].body)
    assert code is not None
    wrong = "000000" if code[1] != "000000" else "111111"
    rules = []
    for _ in range(5):
        with pytest.raises(InvalidInputError) as bad:
            s.rights.requests.verify(AGENT, rid, "email_code", code=wrong)
        rules.append(bad.value.problems[0].message)
    assert rules[-1].endswith("(0 tries left)")
    with pytest.raises(InvalidInputError) as ended:
        s.rights.requests.verify(AGENT, rid, "email_code", code=code[1])
    assert ended.value.problems[0].rule == "request.code_missing"
    assert s.rights.requests.get(rid).request.state is RequestState.RECEIVED
