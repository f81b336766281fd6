"""The portability scope, the copy fee and the staff allowance of the rights (SPEC R1, R6)."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.conftest import POLICY_PATH

from carprivacy.bootstrap import policy_documents
from carprivacy.domain.access import Caller, CallerKind, DecisionRequest, Role
from carprivacy.domain.decision_index import (
    ACCESS_PURPOSE,
    PORTABILITY_PURPOSE,
    CompiledPolicy,
)
from carprivacy.domain.decisions import decide
from carprivacy.domain.exports import copy_fee_due, portability_scope
from carprivacy.domain.subject_state import SubjectFacts

POLICY = policy_documents().load(POLICY_PATH)
NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)


def test_portability_leaves_out_what_was_not_provided_or_only_a_legal_obligation() -> None:
    included, left_out = portability_scope(POLICY)
    assert {c.id for c in left_out} == {"financial_transactions", "obfcm"}
    rules = {c.id: c.rule for c in left_out}
    assert rules == {
        "financial_transactions": "portability.not_provided",
        "obfcm": "portability.basis",
    }
    assert "contact" in {c.id for c in included} and "vehicle_status" in {c.id for c in included}
    assert all(set(c.bases) <= {"consent", "contract"} and c.bases for c in included)


def test_a_further_copy_within_the_period_is_flagged() -> None:
    assert not copy_fee_due([], NOW, 12)
    assert copy_fee_due([datetime(2026, 1, 1, tzinfo=UTC)], NOW, 12)
    assert not copy_fee_due([datetime(2025, 12, 6, 12, tzinfo=UTC)], NOW, 12)


def test_a_privacy_officer_answers_a_request_other_staff_do_not() -> None:
    cp = CompiledPolicy(POLICY)
    facts = SubjectFacts(subject_id="s1", known=True)
    dpo = Caller("dpo", CallerKind.PERSON, Role.PRIVACY_OFFICER, "mini_nl")
    desk = Caller("desk", CallerKind.PERSON, Role.CUSTOMER_SERVICE, "mini_nl")
    for purpose in (ACCESS_PURPOSE, PORTABILITY_PURPOSE):
        ok = decide(cp, DecisionRequest(dpo, purpose, ("contact",), NOW, "s1"), facts)
        assert ok.allowed and ok.reasons[0].rule.endswith("_answered")
        no = decide(cp, DecisionRequest(desk, purpose, ("contact",), NOW, "s1"), facts)
        assert not no.allowed and no.reasons[0].rule == "caller.role"
    out = decide(cp, DecisionRequest(dpo, PORTABILITY_PURPOSE, ("obfcm",), NOW, "s1"), facts)
    assert not out.allowed and out.reasons[0].rule == "category.not_allowed"
