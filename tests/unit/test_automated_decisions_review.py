"""Automated decisions and human review (SPEC U4; Art. 22(3) GDPR)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from carprivacy.domain.access import Caller, CallerKind, Role
from carprivacy.domain.errors import AccessDeniedError, ConflictError, InvalidInputError
from carprivacy.services.access.automated_decisions import AutomatedDecisionService
from carprivacy.testing.automated_decisions import InMemoryAutomatedDecisionRepository

AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
MODEL = Caller("m_ubi", CallerKind.MACHINE, Role.SERVICE, "mini_ag")
SUBJECT = Caller("p_c", CallerKind.PERSON, Role.CUSTOMER, "mini_nl", subject_id="cust-1")
AGENT = Caller("p_a", CallerKind.PERSON, Role.CUSTOMER_SERVICE, "mini_nl")


def svc() -> AutomatedDecisionService:
    return AutomatedDecisionService(
        InMemoryAutomatedDecisionRepository(),
        lambda: AT,
        purposes=frozenset({"contract_performance"}),
        categories=frozenset({"position_movement"}),
    )


def record(s: AutomatedDecisionService, **over: object):  # type: ignore[no-untyped-def]
    args: dict[str, object] = dict(
        subject_id="cust-1",
        purpose="contract_performance",
        model="ubi",
        model_version="2.1",
        inputs={"km": "120"},
        categories=("position_movement",),
        outcome="premium +5%",
    )
    args.update(over)
    return s.record(MODEL, **args)  # type: ignore[arg-type]


def test_a_decision_is_recorded_with_inputs_model_version_and_time() -> None:
    s = svc()
    d = record(s)
    assert (d.model, d.model_version, d.inputs, d.at, d.recorded_by) == (
        "ubi",
        "2.1",
        {"km": "120"},
        AT,
        "m_ubi",
    )


def test_bad_records_name_every_field() -> None:
    with pytest.raises(InvalidInputError) as e:
        record(svc(), inputs={}, model_version="", categories=())
    assert {p.path for p in e.value.problems} == {"inputs", "model_version", "categories"}
    with pytest.raises(InvalidInputError) as e:
        record(svc(), purpose="marketing_x", categories=("dna",))
    assert {p.path for p in e.value.problems} == {"purpose", "categories[0]"}


def test_only_the_person_concerned_or_staff_can_ask_for_review() -> None:
    s = svc()
    d = record(s)
    other = Caller("p_o", CallerKind.PERSON, Role.CUSTOMER, "mini_nl", subject_id="cust-2")
    with pytest.raises(AccessDeniedError):
        s.request_review(other, d.id, "not mine")
    assert s.request_review(SUBJECT, d.id, "please check").status.value == "open"
    assert s.request_review(AGENT, d.id, "on the phone").requested_by == "p_a"


def test_a_machine_cannot_review_and_a_review_is_decided_once() -> None:
    s = svc()
    d = record(s)
    rr = s.request_review(SUBJECT, d.id, "please check")
    bot = Caller("m_bot", CallerKind.MACHINE, Role.SERVICE, "mini_ag")
    with pytest.raises(AccessDeniedError):
        s.decide_review(bot, rr.id, "upheld", "auto")  # role service does not review
    machine_officer = Caller("m_po", CallerKind.MACHINE, Role.PRIVACY_OFFICER, "mini_nl")
    with pytest.raises(InvalidInputError, match="human_review"):
        s.decide_review(machine_officer, rr.id, "upheld", "auto")
    with pytest.raises(InvalidInputError, match="new_outcome"):
        s.decide_review(AGENT, rr.id, "changed", "looked again")
    done = s.decide_review(AGENT, rr.id, "upheld", "the data is right")
    assert (done.status.value, done.outcome and done.outcome.value, done.reviewed_at) == (
        "decided",
        "upheld",
        AT,
    )
    with pytest.raises(ConflictError):
        s.decide_review(AGENT, rr.id, "annulled", "changed my mind")
