"""Edge rules of the decision engine (SPEC U1,
U3, B2): every reason names a notice section, unknown subjects, fleet managers see their fleet's
vehicles only, a batch is one audit transaction."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime, timedelta
from itertools import product

import pytest

from carprivacy.adapters.policy.loader import load_policy_file
from carprivacy.config import default_policy_path
from carprivacy.domain.access import Caller, CallerKind, DecisionRequest, Outcome, Reason, Role
from carprivacy.domain.decision_index import CompiledPolicy, PurposeIndex
from carprivacy.domain.decisions import decide, screen
from carprivacy.domain.policy import Policy
from carprivacy.domain.subject_state import ContractCover, FleetPeriod, SubjectFacts, UsagePeriod
from carprivacy.services.access.decisions import DecisionService
from carprivacy.testing.audit import InMemoryAuditTrail
from carprivacy.testing.decision_facts import InMemoryDecisionFacts
from carprivacy.testing.decision_policy import sample_policy
from carprivacy.testing.subject_state import InMemoryMasterFacts, InMemorySubjectStateRepository

T0 = datetime(2025, 1, 1, tzinfo=UTC)
AT = datetime(2025, 6, 1, tzinfo=UTC)
POLICY = sample_policy()
FLEET = Caller("fm-1", CallerKind.PERSON, Role.FLEET_MANAGER, "fleet_operators", fleet_id="f1")
CONTRACT = ContractCover("k1", "s1", T0, None, vehicle_id="v1")
USAGE = UsagePeriod("v1", "s1", T0)
CATS = ("vehicle_status",)


def fleet_req(
    caller: Caller = FLEET, vehicle: str | None = "v1", at: datetime = AT
) -> DecisionRequest:
    return DecisionRequest(caller, "fleet_operation", CATS, at, vehicle_id=vehicle)


def facts(*fleets: FleetPeriod) -> SubjectFacts:
    return SubjectFacts("s1", "v1", contracts=(CONTRACT,), usage=(USAGE,), fleets=tuple(fleets))


# -- fleet managers (SPEC B2) ----------------------------------------------------------


def test_a_fleet_manager_reads_a_vehicle_of_its_fleet() -> None:
    d = decide(POLICY, fleet_req(), facts(FleetPeriod("v1", "f1", T0)))
    assert d.outcome is Outcome.ALLOW, d.reasons


@pytest.mark.parametrize(
    ("request_", "periods"),
    [
        (fleet_req(), ()),  # the vehicle is in no fleet
        (fleet_req(), (FleetPeriod("v1", "f2", T0),)),  # another fleet's vehicle
        (fleet_req(), (FleetPeriod("v1", "f1", AT + timedelta(days=1)),)),  # joins later
        (fleet_req(), (FleetPeriod("v1", "f1", T0, AT),)),  # left at `at`
        (fleet_req(vehicle=None), (FleetPeriod("v1", "f1", T0),)),  # no vehicle named
        (fleet_req(), (FleetPeriod("v2", "f1", T0),)),  # the fleet's other vehicle
        (
            fleet_req(Caller("fm", CallerKind.PERSON, Role.FLEET_MANAGER, "fleet_operators")),
            (FleetPeriod("v1", "f1", T0),),
        ),  # a fleet manager without a fleet
    ],
)
def test_a_fleet_manager_is_refused_outside_its_fleet(
    request_: DecisionRequest, periods: tuple[FleetPeriod, ...]
) -> None:
    d = decide(POLICY, request_, facts(*periods))
    assert d.outcome is Outcome.DENY and d.rule == "fleet.not_member"
    reason = d.reasons[0]
    assert reason.section == "H" and "5(1)(b)" in reason.article


def test_the_service_reads_fleet_periods_for_fleet_managers() -> None:
    master = InMemoryMasterFacts(
        contracts=[CONTRACT], usage=[USAGE], fleets=[FleetPeriod("v1", "f1", T0)]
    )
    svc = DecisionService(
        POLICY,
        InMemoryDecisionFacts(InMemorySubjectStateRepository(), master),
        InMemoryAuditTrail(),
    )
    assert svc.decide(fleet_req()).allowed
    other = Caller("fm-2", CallerKind.PERSON, Role.FLEET_MANAGER, "fleet_operators", fleet_id="f2")
    assert svc.decide(fleet_req(other)).rule == "fleet.not_member"


# -- unknown subject ids ---------------------------------------------------------------


def test_an_unknown_subject_id_is_subject_unknown_not_contract_required() -> None:
    staff = Caller("agent", CallerKind.PERSON, Role.CUSTOMER_SERVICE, "mini_nl_staff")
    audit = InMemoryAuditTrail()
    master = InMemoryMasterFacts(subjects={"s1"})
    svc = DecisionService(
        POLICY, InMemoryDecisionFacts(InMemorySubjectStateRepository(), master), audit
    )
    purposes = {p.id: p for p in POLICY.purposes}
    for purpose in purposes.values():
        cat = purpose.categories[:1]
        known = svc.decide(DecisionRequest(staff, purpose.id, cat, AT, subject_id="s1"))
        unknown = svc.decide(DecisionRequest(staff, purpose.id, cat, AT, subject_id="nobody"))
        if known.rule in ("caller.not_recipient", "caller.role"):
            assert unknown.rule == known.rule  # the static refusal comes first
        else:
            assert unknown.rule == "subject.unknown", (purpose.id, unknown.reasons)


# -- every reason names rule, article and notice section --------------------------------


def _shipped() -> Policy:
    return load_policy_file(default_policy_path())


def _every_reason(policy: Policy) -> list[Reason]:
    cp = CompiledPolicy(policy)
    out = [cp.not_own_data, cp.unknown_purpose, cp.fleet_not_member]
    for idx in cp.purposes.values():
        out += [getattr(idx, f.name) for f in fields(PurposeIndex)]
    out = [r for r in out if isinstance(r, Reason)]
    orgs = [r.id for r in policy.recipients] + [c.id for c in policy.controllers] + ["nobody"]
    purposes = [p.id for p in policy.purposes] + ["no_such_purpose"]
    categories = [(c.id,) for c in policy.categories] + [()]
    for purpose, org, role, cats in product(purposes, orgs, list(Role), categories):
        caller = Caller("c", CallerKind.PERSON, role, org, subject_id="s1", fleet_id="f1")
        static = cp.static(purpose, caller, cats)
        out += [static] if isinstance(static, Reason) else list(static.reasons)
        refusal = screen(cp, DecisionRequest(caller, purpose, cats, AT, subject_id="s2"))
        if refusal is not None:
            out.append(refusal)
    return out


@pytest.mark.parametrize("policy", [POLICY, None], ids=["sample", "shipped"])
def test_no_reason_has_an_empty_rule_article_or_section(policy: Policy | None) -> None:
    reasons = _every_reason(policy or _shipped())
    rules = {r.rule for r in reasons}
    assert {
        "purpose.unknown",
        "caller.not_own_data",
        "fleet.not_member",
        "subject.unknown",
    } <= rules
    empty = {str(r) for r in reasons if not (r.rule and r.article and r.section and r.message)}
    assert empty == set()


# -- a batch is one audit transaction ---------------------------------------------------


def test_decide_many_writes_the_batch_in_one_audit_transaction() -> None:
    audit = InMemoryAuditTrail()
    master = InMemoryMasterFacts(contracts=[CONTRACT], usage=[USAGE])
    svc = DecisionService(
        POLICY, InMemoryDecisionFacts(InMemorySubjectStateRepository(), master), audit
    )
    staff = Caller("agent", CallerKind.PERSON, Role.CUSTOMER_SERVICE, "mini_nl_staff")
    requests = [
        DecisionRequest(staff, "customer_service", ("contact",), AT, subject_id=f"s{i}")
        for i in range(7)
    ]
    decisions = svc.decide_many(requests)
    assert audit.transactions == [7]
    assert [d for _, d in audit.records] == decisions


def _facts(master: InMemoryMasterFacts) -> InMemoryDecisionFacts:
    return InMemoryDecisionFacts(InMemorySubjectStateRepository(), master)
