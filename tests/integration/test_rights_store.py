"""Rights requests on SQLite and PostgreSQL (SPEC R1-R8, I3): the workflow over the SQL stores
keeps state, history (who, when, why), deadline and extensions across reads; what describes the
person (reasons, evidence, new values, grounds, endpoints) is never in the clear in a column;
rectification history and copies given persist; a destroyed key leaves the request's record of
who did what and when, its sealed parts read as erased."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, select

from carprivacy.adapters.db.tables.rights import (
    export_copies,
    rectification_history,
    rights_requests,
    transmission_receipts,
)
from carprivacy.bootstrap import Services, bootstrap
from carprivacy.config import Settings
from carprivacy.domain.access import Caller, CallerKind, Role
from carprivacy.domain.master import ContactDetails, subject_owner
from carprivacy.domain.request_workflow import RequestState, Verification
from carprivacy.services.rights.ports import RequestFilter
from carprivacy.testing import FakeClock, FakeTransmitter, InMemoryEmailOutbox

NOW = datetime(2026, 3, 31, 9, tzinfo=UTC)
OFFICER = Caller("officer", CallerKind.PERSON, Role.PRIVACY_OFFICER, "mini_nl")
AGENT = Caller("agent", CallerKind.PERSON, Role.CUSTOMER_SERVICE, "mini_ag")


@pytest.fixture
def world(
    engine: Engine, tmp_path: Path
) -> tuple[Services, InMemoryEmailOutbox, FakeClock, Caller, FakeTransmitter]:
    clock = FakeClock(NOW)
    outbox = InMemoryEmailOutbox()
    transmitter = FakeTransmitter()
    settings = Settings(data_dir=tmp_path, admin_token=SecretStr("x" * 40))
    s = bootstrap(
        settings, engine=engine, clock=clock, outbox=outbox, rights={"transmitter": transmitter}
    )
    person = s.master.register_customer(
        ContactDetails(
            "Visser", "Anna", "Dam", "2", "1012 JS", "Amsterdam", "NL", "anna@x.nl", None
        )
    )
    me = Caller("anna", CallerKind.PERSON, Role.CUSTOMER, "mini_nl", subject_id=person.id)
    return s, outbox, clock, me, transmitter


def _raw(engine: Engine) -> bytes:
    out = b""
    with engine.connect() as conn:
        for table in (rights_requests, rectification_history, export_copies, transmission_receipts):
            for row in conn.execute(select(table)):
                out += repr(tuple(row)).encode()
    return out


def test_the_workflow_persists_and_seals_what_describes_the_person(world, engine: Engine) -> None:
    s, outbox, clock, me, _ = world
    rq, ff = s.rights.requests, s.rights.fulfilment
    subject = me.subject_id or ""
    # staff at the other controller record a letter; verified by e-mail code
    rid = rq.submit(
        AGENT,
        "rectification",
        subject_id=subject,
        channel="letter",
        details={"changes": {"street": "Prinsengracht"}},
    ).request.id
    rq.send_code(AGENT, rid)
    code = re.search(r" is (\d{6})\.", outbox.sent[-1].body)
    assert code is not None
    stored = rq.get(rid)
    assert stored.code is not None and code[1] not in stored.code.digest
    clock.advance(timedelta(minutes=2))
    rq.verify(AGENT, rid, "email_code", code=code[1])
    clock.advance(timedelta(days=1))
    rq.extend(OFFICER, rid, 1, "the street register must be checked")
    clock.advance(timedelta(days=1))
    done = ff.complete(OFFICER, rid)
    again = rq.get(rid)
    assert again.request == done.request
    assert again.request.state is RequestState.COMPLETED
    assert again.request.verification is Verification.EMAIL_CODE
    assert again.request.controller == "mini_ag"
    assert again.request.deadline.due_date.isoformat() == "2026-05-31"  # 31 March + 2 months
    assert [h.by for h in again.request.history] == [
        "agent",
        "agent",
        "officer",
        "officer",
        "officer",
    ]
    assert "street register" in again.request.history[2].reason
    assert again.outcome["fields"] == ["street"]
    changes = s.rights.fulfilment.rectifications.of(subject)
    assert [(c.field, c.old_value, c.new_value) for c in changes] == [
        ("street", "Dam", "Prinsengracht")
    ]
    # an objection with grounds, refused later; a portability request to an endpoint
    oid = rq.submit(
        me, "objection", details={"marketing": True, "grounds": "Geheimgrond"}
    ).request.id
    rq.refuse(OFFICER, oid, "Weigerreden-XYZ")
    pid = rq.submit(me, "portability", details={"endpoint": "https://geheim.example/in"}).request.id
    ff.complete(OFFICER, pid)
    b"".join(ff.download(me, pid, "csv"))
    raw = _raw(engine)
    for secret in (
        b"Prinsengracht",
        b"street register",
        b"Geheimgrond",
        b"Weigerreden-XYZ",
        b"geheim.example",
        b"Dam'",
        code[1].encode(),
    ):
        assert secret not in raw
    assert rq.get(pid).outcome["receipt"]["status"] == "delivered"
    assert [r.endpoint for r in s.rights.exports.store.receipts_of(subject)] == [
        "https://geheim.example/in"
    ]


def test_lists_by_subject_state_and_due_and_copies_flagged(world) -> None:
    s, _, clock, me, _ = world
    rq, ff = s.rights.requests, s.rights.fulfilment
    a = rq.submit(me, "access").request.id
    clock.advance(timedelta(days=10))
    b = rq.submit(me, "restriction", details={"case": "accuracy_contested"}).request.id
    assert [x.request.id for x in rq.find(OFFICER, RequestFilter(open_only=True))] == [a, b]
    clock.set(datetime(2026, 4, 27, tzinfo=UTC))
    assert [x.request.id for x in rq.due(OFFICER)] == [a]
    ff.complete(OFFICER, a)
    ff.complete(OFFICER, b)
    assert rq.find(OFFICER, RequestFilter(open_only=True)) == []
    assert [
        x.request.id for x in rq.find(OFFICER, RequestFilter(state=RequestState.COMPLETED))
    ] == [a, b]
    assert len(s.consent_ledger.state(me.subject_id or "").restrictions) == 1
    json.loads(b"".join(ff.download(me, a, "json")))
    clock.advance(timedelta(seconds=1))
    b"".join(ff.download(me, a, "html"))
    assert [c.fee_flagged for c in s.rights.exports.copies(me.subject_id or "")] == [False, True]


def test_a_destroyed_key_leaves_who_did_what_and_when(world) -> None:
    s, _, _, me, _ = world
    rq = s.rights.requests
    rid = rq.submit(me, "erasure").request.id
    rq.refuse(OFFICER, rid, "a legal claim is pending")
    s.cipher.destroy_key(subject_owner(me.subject_id or ""))
    stored = rq.get(rid)
    assert stored.sealed_erased and stored.details == {} and stored.outcome == {}
    assert stored.request.state is RequestState.REFUSED
    assert [h.by for h in stored.request.history] == ["anna", "anna", "officer"]
    assert all(h.reason == "" for h in stored.request.history)


def test_an_erasure_that_destroys_the_key_ends_recorded_and_is_told(world) -> None:
    from carprivacy.services.rights.ports import ErasureOutcome

    s, outbox, _, me, _ = world
    subject = me.subject_id or ""

    class Shredding:
        def erase(self, subject_id: str, **_: object) -> ErasureOutcome:
            s.cipher.destroy_key(subject_owner(subject_id))
            return ErasureOutcome(
                ("contact",), (("financial_transactions", "10 years (Art. 17(3)(b) GDPR)"),)
            )

    s.rights.fulfilment.erasure = Shredding()
    rid = s.rights.requests.submit(me, "erasure").request.id
    done = s.rights.fulfilment.complete(OFFICER, rid)
    assert done.request.state is RequestState.PARTIALLY_REFUSED
    assert outbox.sent[-1].to == "anna@x.nl" and "10 years" in outbox.sent[-1].body
    stored = s.rights.requests.get(rid)
    assert stored.sealed_erased and stored.request.state is RequestState.PARTIALLY_REFUSED
    assert [h.by for h in stored.request.history] == ["anna", "anna", "officer", "officer"]
    assert subject
