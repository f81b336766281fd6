"""Restriction of processing (Art. 18 GDPR; SPEC R4, P3): while restricted, data is kept but used
only for storage, legal claims, the protection of the rights of another natural or legal person,
important public interest, or with the subject's consent (Art. 18(2)).

A purpose declares its ground in the policy (``restriction_ground``; ``legal_claims: true`` is the
legal-claims ground); the engine allows exactly those under a restriction, and every such allow or
refusal names its rule and Art. 18(2)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carprivacy.adapters.policy.loader import load_policy_file, load_policy_text
from carprivacy.domain.access import Caller, CallerKind, DecisionRequest, Outcome, Role
from carprivacy.domain.decisions import decide
from carprivacy.domain.errors import PolicyError
from carprivacy.domain.policy import LegalBasis, Policy, Purpose, RestrictionGround
from carprivacy.domain.subject_state import (
    ConsentChoice,
    ConsentRecord,
    ContractCover,
    Restriction,
    RestrictionCase,
    SubjectFacts,
)
from carprivacy.testing.decision_policy import sample_policy

T0 = datetime(2025, 1, 1, tzinfo=UTC)
AT = T0 + timedelta(days=10)
POLICY_PATH = Path(__file__).resolve().parents[2] / "policies" / "mini-connected-nl.yaml"
SAMPLE = sample_policy()
OFFICER = Caller("i", CallerKind.PERSON, Role.PRIVACY_OFFICER, "mini_nl_staff")
STAFF = Caller("a", CallerKind.PERSON, Role.CUSTOMER_SERVICE, "mini_nl_staff")
SERVICE = Caller("d", CallerKind.MACHINE, Role.SERVICE, "bmw_nl")
ART18_RULES = {"restriction.art18", "restriction.art18_ground", "restriction.art18_consent"}


def restriction(categories: tuple[str, ...] = (), lifted: datetime | None = None) -> Restriction:
    return Restriction(
        "r1", "s1", RestrictionCase.ACCURACY_CONTESTED, T0, "dpo", categories, lifted_at=lifted
    )


def consent(topic: str) -> ConsentRecord:
    return ConsentRecord(
        f"c-{topic}", "s1", topic, ConsentChoice.GIVEN, "1", "portal", T0, "s1", party="g"
    )


def ask(
    policy: Policy, caller: Caller, purpose: str, cats: tuple[str, ...], facts: SubjectFacts
) -> tuple[Outcome, list[tuple[str, str]]]:
    d = decide(policy, DecisionRequest(caller, purpose, cats, AT, "s1"), facts)
    return d.outcome, [(r.rule, r.article) for r in d.reasons]


# -- the property ------------------------------------------------------------------------------

GROUNDED = {p.id for p in SAMPLE.purposes if p.art18_ground is not None}
CALLERS = (
    STAFF,
    OFFICER,
    SERVICE,
    Caller("g", CallerKind.MACHINE, Role.PARTNER, "energy_partner"),
    Caller("c", CallerKind.PERSON, Role.DEALER, "dealers"),
)


def test_the_sample_policy_declares_every_kind_of_ground() -> None:
    """Otherwise the property below would not try storage or the protection of others."""
    grounds = {p.art18_ground for p in SAMPLE.purposes}
    assert {
        RestrictionGround.STORAGE,
        RestrictionGround.LEGAL_CLAIMS,
        RestrictionGround.PROTECTION_OF_OTHERS,
    } <= grounds


@settings(max_examples=600, deadline=None)
@given(
    purpose=st.sampled_from(SAMPLE.purposes),
    caller=st.sampled_from(CALLERS),
    data=st.data(),
    restricted=st.lists(st.sampled_from([c.id for c in SAMPLE.categories]), max_size=2),
    topics=st.lists(st.sampled_from([t.id for t in SAMPLE.consent_topics]), max_size=3),
)
def test_under_restriction_only_the_art18_grounds_or_consent_are_allowed(
    purpose: Purpose,
    caller: Caller,
    data: st.DataObject,
    restricted: list[str],
    topics: list[str],
) -> None:
    p = purpose
    cats = tuple(data.draw(st.lists(st.sampled_from(p.categories), min_size=1, unique=True)))
    consents = tuple(consent(t) for t in dict.fromkeys(topics))
    facts = SubjectFacts(
        "s1",
        vehicle_id=None,
        country="NL",
        consents=consents,
        restrictions=(restriction(tuple(restricted)),),
        contracts=(ContractCover("k1", "s1", T0),),
    )
    outcome, reasons = ask(SAMPLE, caller, p.id, cats, facts)
    covered = not restricted or bool(set(restricted) & set(cats))
    consented = p.legal_basis is LegalBasis.CONSENT and any(
        c.topic == p.consent_topic for c in consents
    )
    rules = {rule for rule, _ in reasons}
    if outcome is Outcome.ALLOW and covered:
        assert p.id in GROUNDED or consented, (p.id, reasons)
        expected = "restriction.art18_ground" if p.id in GROUNDED else "restriction.art18_consent"
        assert (expected, "Art. 18(2) GDPR") in reasons
    if outcome is Outcome.DENY and "restriction.art18" in rules:
        assert covered and p.id not in GROUNDED and not consented
        assert ("restriction.art18", "Art. 18(2) GDPR") in reasons
    if not covered:
        assert not rules & ART18_RULES  # a restriction of other categories plays no part
    # the same request without the restriction: a grounded or consented purpose decides alike,
    # and the restriction is the only thing that turned an allow into a refusal
    free = ask(SAMPLE, caller, p.id, cats, replace(facts, restrictions=()))
    if outcome is Outcome.ALLOW or "restriction.art18" in rules:
        assert free[0] is Outcome.ALLOW


# -- each ground, on the sample policy ---------------------------------------------------------


@pytest.mark.parametrize(
    ("purpose", "cats", "ground_words"),
    [
        ("backup", ("contact_data",), "storage"),
        ("legal_claims", ("contact_data",), "legal claims"),
        ("third_party_rights", ("position",), "the rights of another natural or legal person"),
    ],
)
def test_a_declared_ground_uses_restricted_data_and_says_so(
    purpose: str, cats: tuple[str, ...], ground_words: str
) -> None:
    facts = SubjectFacts("s1", restrictions=(restriction(),))
    d = decide(SAMPLE, DecisionRequest(OFFICER, purpose, cats, AT, "s1"), facts)
    assert d.outcome is Outcome.ALLOW
    why = next(r for r in d.reasons if r.rule == "restriction.art18_ground")
    assert why.article == "Art. 18(2) GDPR" and ground_words in why.message


def test_without_a_ground_the_restriction_refuses_and_a_lift_ends_it() -> None:
    facts = SubjectFacts(
        "s1", restrictions=(restriction(),), contracts=(ContractCover("k1", "s1", T0),)
    )
    req = DecisionRequest(STAFF, "customer_service", ("contact_data",), AT, "s1")
    d = decide(SAMPLE, req, facts)
    assert d.rule == "restriction.art18" and d.reasons[0].article == "Art. 18(2) GDPR"
    assert "protection of another person's rights" in d.reasons[0].message
    lifted = replace(facts, restrictions=(restriction(lifted=AT - timedelta(days=1)),))
    again = decide(
        SAMPLE, DecisionRequest(STAFF, "customer_service", ("contact_data",), AT, "s1"), lifted
    )
    assert again.outcome is Outcome.ALLOW
    assert not {r.rule for r in again.reasons} & ART18_RULES


def test_a_consent_purpose_runs_under_restriction_only_with_the_consent() -> None:
    bare = SubjectFacts("s1", restrictions=(restriction(),))
    req = DecisionRequest(SERVICE, "marketing_email", ("contact_data",), AT, "s1")
    assert decide(SAMPLE, req, bare).rule == "consent.required"
    given_ = replace(bare, consents=(consent("marketing_email"),))
    d = decide(SAMPLE, req, given_)
    assert d.outcome is Outcome.ALLOW
    assert ("restriction.art18_consent", "Art. 18(2) GDPR") in [
        (r.rule, r.article) for r in d.reasons
    ]


# -- the policy format -------------------------------------------------------------------------


def _shipped_text() -> str:
    return POLICY_PATH.read_text(encoding="utf-8")


def test_the_policy_file_declares_a_ground_and_the_engine_honours_it() -> None:
    """``restriction_ground: protection_of_others`` on a purpose of a policy file (here the
    shipped file with one purpose changed) lets that purpose use restricted data."""
    text = _shipped_text().replace(
        "    fides_data_use: essential.fraud_detection\n",
        "    fides_data_use: essential.fraud_detection\n"
        "    restriction_ground: protection_of_others\n",
        1,
    )
    policy = load_policy_text(text)
    assert policy.purpose("aml_sanctions").restriction_ground is (
        RestrictionGround.PROTECTION_OF_OTHERS
    )
    facts = SubjectFacts("s1", restrictions=(restriction(),))
    out, reasons = ask(policy, OFFICER, "aml_sanctions", ("contact",), facts)
    assert out is Outcome.ALLOW and ("restriction.art18_ground", "Art. 18(2) GDPR") in reasons
    shipped = load_policy_file(POLICY_PATH)
    out, reasons = ask(shipped, OFFICER, "aml_sanctions", ("contact",), facts)
    assert out is Outcome.DENY and reasons[0] == ("restriction.art18", "Art. 18(2) GDPR")


def test_an_unknown_ground_is_refused_naming_the_field() -> None:
    text = _shipped_text().replace(
        "    legal_claims: true\n", "    legal_claims: true\n    restriction_ground: curiosity\n", 1
    )
    with pytest.raises(PolicyError) as err:
        load_policy_text(text)
    assert err.value.problems and all(
        p.path.endswith(".restriction_ground") and p.rule == "schema.enum"
        for p in err.value.problems
    )


def test_the_shipped_legal_claims_purpose_reads_restricted_data_under_art18() -> None:
    shipped = load_policy_file(POLICY_PATH)
    assert shipped.purpose("legal_claims").art18_ground is RestrictionGround.LEGAL_CLAIMS
    facts = SubjectFacts("s1", restrictions=(restriction(),))
    out, reasons = ask(shipped, OFFICER, "legal_claims", ("contact",), facts)
    assert out is Outcome.ALLOW and ("restriction.art18_ground", "Art. 18(2) GDPR") in reasons


def test_the_generated_notice_names_a_purposes_ground() -> None:
    from carprivacy.adapters.notice.notice import render_notice

    shipped = load_policy_file(POLICY_PATH)
    purposes = tuple(
        replace(p, restriction_ground=RestrictionGround.PROTECTION_OF_OTHERS)
        if p.id == "aml_sanctions"
        else p
        for p in shipped.purposes
    )
    text = render_notice(replace(shipped, purposes=purposes), "nl", "md")
    section = text.split("#### Witwascontroles, sanctielijsten en exportcontrole")[1].split("####")[
        0
    ]
    assert (
        "Bij beperking van de verwerking (Art. 18 lid 2 AVG) nog gebruikt voor: de bescherming van "
        "de rechten van een andere natuurlijke persoon of rechtspersoon"
    ) in section
    assert (
        "Art. 18 lid 2"
        not in render_notice(shipped, "nl", "md")
        .split("#### Witwascontroles, sanctielijsten en exportcontrole")[1]
        .split("####")[0]
    )
