"""Property tests of the decision engine.

Random timelines of consents, withdrawals, refusals, objections, overrides, restrictions, contracts
and owner changes, and random requests. An independent oracle per rule, written on plain integers
(days) rather than on the engine's types, says whether the rule is met. The engine must allow
exactly when every oracle is met, and a deny must name a rule whose oracle failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from carprivacy.domain.access import Caller, CallerKind, DecisionRequest, Role
from carprivacy.domain.decisions import decide
from carprivacy.domain.policy import EEA_COUNTRIES, ConsentKind, LegalBasis, RecipientKind
from carprivacy.domain.subject_state import (
    ConsentChoice,
    ConsentRecord,
    ContractCover,
    Objection,
    Override,
    OverrideGround,
    Restriction,
    RestrictionCase,
    SubjectFacts,
    UsagePeriod,
)
from carprivacy.testing.decision_policy import sample_policy, third_country_recipient

EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
SUBJECTS = ("s1", "s2")
POLICIES = (sample_policy(), third_country_recipient(sample_policy(), "google_geocoding"))
CALLERS = (
    Caller("a", CallerKind.PERSON, Role.CUSTOMER_SERVICE, "mini_nl_staff"),
    Caller("b", CallerKind.PERSON, Role.RND_ANALYST, "mini_ag_staff"),
    Caller("c", CallerKind.PERSON, Role.DEALER, "dealers"),
    Caller("d", CallerKind.MACHINE, Role.SERVICE, "bmw_nl"),
    Caller("e", CallerKind.MACHINE, Role.PARTNER, "catena_x_partners"),
    Caller("f", CallerKind.MACHINE, Role.PARTNER, "google_geocoding"),
    Caller("g", CallerKind.MACHINE, Role.PARTNER, "energy_partner"),
    Caller("h", CallerKind.MACHINE, Role.PARTNER, "eu_commission"),
    Caller("i", CallerKind.PERSON, Role.PRIVACY_OFFICER, "mini_nl_staff"),
    Caller("j", CallerKind.MACHINE, Role.PARTNER, "fleet_operators"),
)
# The staff role map, restated for the oracle: role -> notice sections it may use.
STAFF_SECTIONS = {
    Role.CUSTOMER_SERVICE: {"A", "B", "E"},
    Role.PRIVACY_OFFICER: {"E", "G"},
    Role.RND_ANALYST: {"C"},
}


def day(n: int) -> datetime:
    return EPOCH + timedelta(days=n)


days = st.integers(0, 20)


@st.composite
def interval(draw: st.DrawFn) -> tuple[int, int | None]:
    start = draw(days)
    end = draw(st.one_of(st.none(), st.integers(start + 1, 25)))
    return start, end


def inside(iv: tuple[int, int | None], t: int) -> bool:
    return iv[0] <= t and (iv[1] is None or t < iv[1])


@dataclass
class Timeline:
    consents: list[tuple[str, str, str, tuple[int, int | None], str | None]]  # subj, topic, choice
    objections: list[tuple[str, str | None, bool, tuple[int, int | None]]]  # subj, purpose, mkt
    overrides: list[tuple[str, str, tuple[int, int | None]]]
    restrictions: list[tuple[str, tuple[str, ...], tuple[int, int | None]]]
    contracts: list[tuple[str, str | None, tuple[int, int | None]]]
    owners: list[tuple[str, int]]  # (subject, from day): owner changes of vehicle v1
    country: str | None


purposes = st.sampled_from([p.id for p in sample_policy().purposes] + ["unknown_purpose"])
categories = st.sampled_from([c.id for c in sample_policy().categories])
vehicles = st.sampled_from([None, "v1", "v2"])

ALL_TOPICS = ("marketing_email", "cardata_sharing", "obfcm_refusal")


def timelines_for(
    topics: tuple[str, ...] = ALL_TOPICS,
    purpose_ids: st.SearchStrategy[str] = purposes,
    cats: st.SearchStrategy[str] = categories,
) -> st.SearchStrategy[Timeline]:
    subjects = st.sampled_from(SUBJECTS)
    return st.builds(
        Timeline,
        consents=st.lists(
            st.tuples(
                subjects,
                st.sampled_from(topics),
                st.sampled_from(["given", "refused"]),
                interval(),
                vehicles,
            ),
            max_size=4,
        ),
        objections=st.lists(
            st.tuples(subjects, st.one_of(st.none(), purpose_ids), st.booleans(), interval()),
            max_size=3,
        ),
        overrides=st.lists(st.tuples(subjects, purpose_ids, interval()), max_size=3),
        restrictions=st.lists(
            st.tuples(subjects, st.lists(cats, max_size=2).map(tuple), interval()),
            max_size=2,
        ),
        contracts=st.lists(st.tuples(subjects, vehicles, interval()), max_size=3),
        owners=st.lists(st.tuples(subjects, days), max_size=3),
        country=st.sampled_from([None, "NL", "DE", "BE"]),
    )


timelines = timelines_for()


def owner_periods(owners: list[tuple[str, int]]) -> list[tuple[str, int, int | None]]:
    ordered = sorted(owners, key=lambda o: o[1])
    out = []
    for i, (subject, start) in enumerate(ordered):
        end = ordered[i + 1][1] if i + 1 < len(ordered) else None
        if end is None or end > start:
            out.append((subject, start, end))
    return out


def to_facts(tl: Timeline, subject: str | None) -> SubjectFacts:
    def ts(iv: tuple[int, int | None]) -> tuple[datetime, datetime | None]:
        return day(iv[0]), (day(iv[1]) if iv[1] is not None else None)

    return SubjectFacts(
        subject_id=subject,
        vehicle_id="v1",
        country=tl.country,
        consents=tuple(
            ConsentRecord(
                f"c{i}",
                s,
                topic,
                ConsentChoice(choice),
                "1",
                "portal",
                ts(iv)[0],
                s,
                vehicle_id=v,
                withdrawn_at=ts(iv)[1],
                party="g",  # every consent names the energy partner as its chosen party
            )
            for i, (s, topic, choice, iv, v) in enumerate(tl.consents)
        ),
        objections=tuple(
            Objection(f"o{i}", s, ts(iv)[0], s, purpose=p, marketing=m, withdrawn_at=ts(iv)[1])
            for i, (s, p, m, iv) in enumerate(tl.objections)
        ),
        overrides=tuple(
            Override(
                f"x{i}",
                s,
                p,
                OverrideGround.COMPELLING_GROUNDS,
                "grounds",
                "dpo",
                ts(iv)[0],
                ts(iv)[1],
            )
            for i, (s, p, iv) in enumerate(tl.overrides)
        ),
        restrictions=tuple(
            Restriction(
                f"r{i}",
                s,
                RestrictionCase.ACCURACY_CONTESTED,
                ts(iv)[0],
                "dpo",
                cats,
                lifted_at=ts(iv)[1],
            )
            for i, (s, cats, iv) in enumerate(tl.restrictions)
        ),
        contracts=tuple(
            ContractCover(f"k{i}", s, ts(iv)[0], ts(iv)[1], vehicle_id=v)
            for i, (s, v, iv) in enumerate(tl.contracts)
        ),
        usage=tuple(
            UsagePeriod("v1", s, day(a), day(b) if b is not None else None)
            for s, a, b in owner_periods(tl.owners)
        ),
    )


def oracle(
    policy_index: int,
    tl: Timeline,
    caller: Caller,
    purpose_id: str,
    cats: tuple[str, ...],
    t: int,
    subject_arg: str | None,
    vehicle: str | None,
    expires: int | None,
) -> dict[str, bool]:
    """rule family -> met? Written from the rules, not from the engine."""
    policy = POLICIES[policy_index]
    ok: dict[str, bool] = {}
    purpose = next((p for p in policy.purposes if p.id == purpose_id), None)
    ok["purpose"] = purpose is not None
    if purpose is None:
        return ok
    ok["category"] = bool(cats) and set(cats) <= set(purpose.categories)
    recipient = next((r for r in policy.recipients if r.id == caller.organisation), None)
    is_staff_org = caller.organisation in purpose.controllers or (
        recipient is not None
        and (recipient.kind is RecipientKind.INTERNAL or recipient.controller is not None)
        and (recipient.id in purpose.recipients or recipient.controller in purpose.controllers)
    )
    if is_staff_org:
        role_ok = caller.role is Role.SERVICE or purpose.section in STAFF_SECTIONS.get(
            caller.role, set()
        )
        ok["caller"] = role_ok
    else:
        ok["caller"] = caller.organisation in purpose.recipients
    if recipient is not None and caller.organisation in purpose.recipients:
        ok["transfer"] = (
            recipient.country in EEA_COUNTRIES
            or recipient.country == "EU"
            or recipient.transfer_mechanism.value in ("adequacy", "scc")
        )
        ok["service_country"] = (
            not recipient.service_countries
            or tl.country is None
            or tl.country in recipient.service_countries
        )
    ok["retention"] = expires is None or expires > t
    # who is the data about?
    subject = subject_arg
    if subject is None and vehicle == "v1":
        owners = [(s, a) for s, a, b in owner_periods(tl.owners) if a <= t and (b is None or t < b)]
        subject = max(owners, key=lambda o: o[1])[0] if owners else None
    mkt_objection = subject is not None and any(
        s == subject and m and inside(iv, t) for s, _, m, iv in tl.objections
    )
    ok["marketing"] = not (purpose.is_marketing and mkt_objection)
    topic = next((x for x in policy.consent_topics if x.id == purpose.consent_topic), None)
    consent_ok = False
    if topic is not None:
        mine = [(c, iv, v) for s, tp, c, iv, v in tl.consents if s == subject and tp == topic.id]
        # a consent to a chosen third party counts only for that party (caller "g")
        per_party = any(
            q.consent_topic == topic.id
            and q.recipients
            and all(
                r.kind is RecipientKind.THIRD_PARTY
                for r in policy.recipients
                if r.id in q.recipients
            )
            for q in policy.purposes
        )
        if topic.kind is ConsentKind.OPT_IN:
            # a vehicle-only consent counts only for its own vehicle
            consent_ok = any(
                c == "given"
                and inside(iv, t)
                and (not topic.vehicle_only or v == vehicle)
                and (not per_party or caller.id == "g")
                for c, iv, v in mine
            )
            ok["consent"] = subject is not None and consent_ok
        else:
            # a refusal counts for its vehicle, and for any request that names no vehicle
            ok["consent"] = not any(
                c == "refused"
                and inside(iv, t)
                and (not topic.vehicle_only or vehicle is None or v == vehicle)
                for c, iv, v in mine
            )
    if purpose.legal_basis is LegalBasis.CONTRACT:
        ok["contract"] = subject is not None and any(
            s == subject and inside(iv, t) and (v is None or vehicle is None or v == vehicle)
            for s, v, iv in tl.contracts
        )
    if purpose.legal_basis is LegalBasis.LEGITIMATE_INTEREST:
        objected = any(
            s == subject and not m and inside(iv, t) and (p is None or p == purpose.id)
            for s, p, m, iv in tl.objections
        )
        overridden = (
            not purpose.is_marketing
            and purpose.objection_override_allowed
            and any(s == subject and p == purpose.id and inside(iv, t) for s, p, iv in tl.overrides)
        )
        ok["objection"] = not objected or overridden
    restricted = any(
        s == subject and inside(iv, t) and (not rc or set(rc) & set(cats))
        for s, rc, iv in tl.restrictions
    )
    # Art. 18(2): storage, legal claims, the protection of others, public interest, or consent
    ok["restriction"] = (
        not restricted
        or purpose.legal_claims
        or purpose.restriction_ground is not None
        or (purpose.legal_basis is LegalBasis.CONSENT and consent_ok)
    )
    return ok


RULE_FAMILY = {
    "purpose.unknown": "purpose",
    "category.not_allowed": "category",
    "category.none": "category",
    "caller.not_recipient": "caller",
    "caller.role": "caller",
    "transfer.no_mechanism": "transfer",
    "recipient.service_country": "service_country",
    "retention.expired": "retention",
    "objection.marketing": "marketing",
    "consent.required": "consent",
    "consent.withdrawn": "consent",
    "consent.refused": "consent",
    "subject.unknown": "consent_or_contract",
    "contract.required": "contract",
    "objection.art21": "objection",
    "restriction.art18": "restriction",
}


def fitting_callers(purpose_id: str) -> list[Caller]:
    """Callers whose organisation is named by the purpose (to make allows frequent)."""
    purpose = next((p for p in POLICIES[0].purposes if p.id == purpose_id), None)
    if purpose is None:
        return list(CALLERS)
    fit = [c for c in CALLERS if c.organisation in purpose.recipients + purpose.controllers]
    return fit or list(CALLERS)


@st.composite
def requests(draw: st.DrawFn) -> tuple[Caller, str, tuple[str, ...]]:
    purpose_id = draw(purposes)
    purpose = next((p for p in POLICIES[0].purposes if p.id == purpose_id), None)
    if purpose is not None and draw(st.integers(0, 9)) < 8:
        cats = draw(
            st.lists(st.sampled_from(purpose.categories), min_size=1, max_size=2, unique=True)
        )
        caller = draw(st.sampled_from(fitting_callers(purpose_id)))
    else:
        cats = draw(st.lists(categories, max_size=3, unique=True))
        caller = draw(st.sampled_from(CALLERS))
    return caller, purpose_id, tuple(cats)


def check_against_oracle(
    policy_index: int,
    tl: Timeline,
    caller: Caller,
    purpose_id: str,
    cats: tuple[str, ...],
    t: int,
    subject_arg: str | None,
    vehicle: str | None,
    expires: int | None,
    in_hypothesis: bool = True,
) -> None:
    facts = to_facts(tl, subject_arg)
    extra = {"expires_at": day(expires).isoformat()} if expires is not None else {}
    request = DecisionRequest(caller, purpose_id, cats, day(t), subject_arg, vehicle, extra)
    decision = decide(POLICIES[policy_index], request, facts)
    ok = oracle(policy_index, tl, caller, purpose_id, cats, t, subject_arg, vehicle, expires)
    if in_hypothesis:
        event(f"{decision.outcome.value} {decision.rule}")
    assert decision.allowed == all(ok.values()), (decision.reasons, ok)
    if not decision.allowed:
        family = RULE_FAMILY[decision.rule]
        if family == "consent_or_contract":
            assert not ok.get("consent", True) or not ok.get("contract", True), ok
        else:
            assert not ok[family], (decision.rule, ok)


@settings(max_examples=1000, deadline=None)
@given(
    policy_index=st.sampled_from([0, 1]),
    tl=timelines,
    req=requests(),
    t=days,
    subject_arg=st.sampled_from([None, "s1", "s1", "s2"]),
    vehicle=vehicles,
    expires=st.one_of(st.none(), st.none(), days),
)
def test_no_allow_contradicts_the_rules(
    policy_index: int,
    tl: Timeline,
    req: tuple[Caller, str, tuple[str, ...]],
    t: int,
    subject_arg: str | None,
    vehicle: str | None,
    expires: int | None,
) -> None:
    caller, purpose_id, cats = req
    check_against_oracle(
        policy_index, tl, caller, purpose_id, cats, t, subject_arg, vehicle, expires
    )


# Focused properties: the request is fixed to one where the rule under test decides, so that the
# random timeline (not the request) is what varies.
SUBJECT_CASES = [
    # (caller index, purpose, categories)
    (3, "marketing_email", ("contact_data",)),  # consent + marketing objection + restriction
    (3, "market_research", ("contact_data",)),  # legitimate interest, marketing: no override
    (2, "after_sales_service", ("maintenance",)),  # legitimate interest with overrides
    (1, "product_development", ("position",)),
    (0, "customer_service", ("contact_data", "vehicle_status")),  # restriction per category
    (8, "legal_claims", ("contact_data",)),  # restriction does not stop legal claims
    (8, "backup", ("contact_data",)),  # nor storage
    (8, "third_party_rights", ("position",)),  # nor the protection of another person's rights
    (0, "contract_performance", ("vehicle_status",)),  # contracts and owner changes
    (9, "fleet_operation", ("position",)),
    (6, "energy_tariff", ("contact_data",)),  # consent + service countries
    (7, "obfcm_reporting", ("obfcm",)),  # opt-out refusal per vehicle
]


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    t=days,
    subject_arg=st.sampled_from([None, "s1"]),
    vehicle=st.sampled_from([None, "v1", "v1", "v2"]),
)
@pytest.mark.parametrize(("caller_index", "purpose_id", "cats"), SUBJECT_CASES)
def test_timelines_decide_like_the_oracle(
    caller_index: int,
    purpose_id: str,
    cats: tuple[str, ...],
    data: st.DataObject,
    t: int,
    subject_arg: str | None,
    vehicle: str | None,
) -> None:
    purpose = POLICIES[0].purposes_by_id[purpose_id]
    topics = (purpose.consent_topic,) if purpose.consent_topic else ALL_TOPICS
    others = [p.id for p in POLICIES[0].purposes if p.id != purpose_id][:1]
    tl = data.draw(
        timelines_for(
            topics,
            st.sampled_from([purpose_id, purpose_id, *others]),
            st.sampled_from([*cats, "position"]),
        )
    )
    check_against_oracle(
        0, tl, CALLERS[caller_index], purpose_id, cats, t, subject_arg, vehicle, None
    )


PERMISSIVE = Timeline(
    consents=[
        ("s1", "marketing_email", "given", (0, None), None),
        ("s1", "cardata_sharing", "given", (0, None), None),
    ],
    objections=[],
    overrides=[],
    restrictions=[],
    contracts=[("s1", None, (0, None))],
    owners=[("s1", 0)],
    country="NL",
)


@pytest.mark.parametrize("policy_index", [0, 1])
def test_static_rules_agree_with_the_oracle_exhaustively(policy_index: int) -> None:
    """Every caller x purpose x category on permissive facts: only the static rules decide."""
    policy = POLICIES[policy_index]
    for caller in CALLERS:
        for purpose in [*policy.purposes, None]:
            pid = purpose.id if purpose else "unknown_purpose"
            for cat in [c.id for c in policy.categories]:
                for expires in (None, 3, 7):
                    check_against_oracle(
                        policy_index, PERMISSIVE, caller, pid, (cat,), 5, "s1", "v1", expires, False
                    )
