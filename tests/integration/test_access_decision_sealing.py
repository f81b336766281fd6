"""Automated decisions keep what describes the person sealed under the subject's key (SPEC
U4, I3): the inputs of a decision and a review's reason and note are not
stored in plaintext, and after erasure (the key shredded) they read as erased, without failing."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select

from carprivacy.adapters.crypto.envelope import EnvelopeCipher
from carprivacy.adapters.crypto.master_key import MasterKeyRing, new_master_key
from carprivacy.adapters.db.repositories.access import SqlAutomatedDecisionRepository
from carprivacy.adapters.db.repositories.data_keys import SqlDataKeyRepository
from carprivacy.adapters.db.tables.access import automated_decisions, review_requests
from carprivacy.domain.access import Caller, CallerKind, Role
from carprivacy.services.access.automated_decisions import AutomatedDecisionService

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
POSITION = "52.3731,4.8922"
IBAN = "NL91ABNA0417164300"
REASON = "I brake hard near the school on Prinsengracht"
NOTE = "school zone on Prinsengracht confirmed"
MODEL = Caller("m_ubi", CallerKind.MACHINE, Role.SERVICE, "mini_ag")
CUSTOMER = Caller("p_c", CallerKind.PERSON, Role.CUSTOMER, "mini_nl", subject_id="cust-9")
REVIEWER = Caller("p_r", CallerKind.PERSON, Role.CUSTOMER_SERVICE, "mini_nl")


def _stored(engine: Engine) -> str:
    with engine.connect() as conn:
        rows = [
            *conn.execute(select(automated_decisions)),
            *conn.execute(select(review_requests)),
        ]
    return " ".join(
        bytes(v).decode("latin-1") if isinstance(v, bytes | memoryview) else repr(v)
        for row in rows
        for v in row
    )


def test_inputs_reason_and_note_are_sealed_and_die_with_the_subjects_key(engine: Engine) -> None:
    cipher = EnvelopeCipher(SqlDataKeyRepository(engine), MasterKeyRing(new_master_key()))
    svc = AutomatedDecisionService(SqlAutomatedDecisionRepository(engine, cipher), lambda: T0)
    d = svc.record(
        MODEL,
        subject_id="cust-9",
        purpose="contract_performance",
        model="ubi",
        model_version="2.1",
        inputs={"last_position": POSITION, "iban": IBAN},
        categories=("position_movement",),
        outcome="premium +10%",
    )
    rr = svc.request_review(CUSTOMER, d.id, REASON)
    done = svc.decide_review(REVIEWER, rr.id, "changed", NOTE, "premium +0%")
    other = svc.record(
        MODEL,
        subject_id="cust-10",
        purpose="contract_performance",
        model="ubi",
        model_version="2.1",
        inputs={"harsh_braking": "3"},
        categories=("position_movement",),
        outcome="premium +0%",
    )

    stored = _stored(engine)
    for secret in (POSITION, IBAN, "Prinsengracht", "last_position"):
        assert secret not in stored
    assert svc.get(d.id).inputs == {"last_position": POSITION, "iban": IBAN}
    assert svc.reviews(d.id) == [done]
    assert done.reason == REASON and done.note == NOTE

    cipher.destroy_key("subject:cust-9")  # erasure by crypto-shredding (R3)
    erased = svc.get(d.id)
    assert erased.inputs == {} and erased.outcome == "premium +10%"
    [review] = svc.reviews(d.id)
    assert review.reason == "" and review.note is None
    assert review.new_outcome == "premium +0%" and review.reviewer == "p_r"
    assert svc.get(other.id).inputs == {"harsh_braking": "3"}  # another subject is untouched


def test_a_review_decided_after_erasure_keeps_no_note(engine: Engine) -> None:
    cipher = EnvelopeCipher(SqlDataKeyRepository(engine), MasterKeyRing(new_master_key()))
    svc = AutomatedDecisionService(SqlAutomatedDecisionRepository(engine, cipher), lambda: T0)
    d = svc.record(
        MODEL,
        subject_id="cust-9",
        purpose="contract_performance",
        model="ubi",
        model_version="2.1",
        inputs={"iban": IBAN},
        categories=("position_movement",),
        outcome="declined",
    )
    rr = svc.request_review(CUSTOMER, d.id, REASON)
    cipher.destroy_key("subject:cust-9")
    done = svc.decide_review(REVIEWER, rr.id, "annulled", NOTE, None)
    [review] = svc.reviews(d.id)
    assert review.status == done.status and review.reason == "" and review.note is None
    assert NOTE not in _stored(engine)
