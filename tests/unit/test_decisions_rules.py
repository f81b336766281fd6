"""The decision engine, rule by rule (SPEC U1, U2, P3, P5, P6, R4, R6)."""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from carprivacy.domain.access import Caller, CallerKind, Decision, DecisionRequest, Outcome, Role
from carprivacy.domain.decisions import compile_policy, decide, decide_many
from carprivacy.domain.policy import Form
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

T0 = datetime(2025, 1, 1, tzinfo=UTC)
AT = datetime(2025, 6, 1, tzinfo=UTC)
POLICY = sample_policy()

STAFF = Caller("agent-1", CallerKind.PERSON, Role.CUSTOMER_SERVICE, "mini_nl_staff")
MARKETING_SYSTEM = Caller("crm", CallerKind.MACHINE, Role.SERVICE, "bmw_nl")
DEALER = Caller("dealer-7", CallerKind.PERSON, Role.DEALER, "dealers")
ANALYST = Caller("analyst-1", CallerKind.PERSON, Role.RND_ANALYST, "mini_ag_staff")
GEOCODER = Caller("geo", CallerKind.MACHINE, Role.PARTNER, "google_geocoding")


def req(
    caller: Caller, purpose: str, *categories: str, at: datetime = AT, **kw: object
) -> DecisionRequest:
    kw.setdefault("subject_id", "s1")
    return DecisionRequest(caller, purpose, categories, at, **kw)  # type: ignore[arg-type]


def consent(
    topic: str = "marketing_email",
    given: datetime = T0,
    withdrawn: datetime | None = None,
    choice: ConsentChoice = ConsentChoice.GIVEN,
    subject: str = "s1",
    vehicle: str | None = None,
) -> ConsentRecord:
    return ConsentRecord(
        id=f"c-{topic}-{given.isoformat()}",
        subject_id=subject,
        topic=topic,
        choice=choice,
        text_version="1",
        channel="portal",
        given_at=given,
        recorded_by=subject,
        vehicle_id=vehicle,
        withdrawn_at=withdrawn,
    )


def check(decision: Decision, outcome: Outcome, rule: str) -> None:
    assert decision.outcome is outcome, decision
    assert decision.rule == rule, decision.reasons
    assert all(r.article and r.message for r in decision.reasons)


def test_unknown_purpose_is_denied() -> None:
    check(
        decide(POLICY, req(STAFF, "nope", "contact_data"), SubjectFacts()),
        Outcome.DENY,
        "purpose.unknown",
    )


def test_category_outside_the_purpose_is_denied() -> None:
    d = decide(POLICY, req(DEALER, "after_sales_service", "contact_data"), SubjectFacts())
    check(d, Outcome.DENY, "category.not_allowed")
    assert d.reasons[0].section == "D"


def test_request_without_category_is_denied() -> None:
    check(
        decide(POLICY, req(DEALER, "after_sales_service"), SubjectFacts()),
        Outcome.DENY,
        "category.none",
    )


def test_organisation_that_is_not_a_recipient_is_denied() -> None:
    check(
        decide(POLICY, req(DEALER, "product_development", "position"), SubjectFacts()),
        Outcome.DENY,
        "caller.not_recipient",
    )


def test_staff_role_must_be_allowed_for_the_purpose() -> None:
    analyst_in_nl = replace(ANALYST, organisation="mini_nl_staff")
    check(
        decide(POLICY, req(analyst_in_nl, "customer_service", "contact_data"), SubjectFacts()),
        Outcome.DENY,
        "caller.role",
    )
    d = decide(POLICY, req(STAFF, "customer_service", "contact_data"), SubjectFacts("s1"))
    check(d, Outcome.ALLOW, "purpose.allowed")


def test_controller_staff_is_authorised_through_the_controller_id() -> None:
    d = decide(
        POLICY,
        req(MARKETING_SYSTEM, "marketing_email", "contact_data"),
        SubjectFacts("s1", consents=(consent(),)),
    )
    check(d, Outcome.ALLOW, "purpose.allowed")


def test_customer_sees_only_own_data() -> None:
    me = Caller("u1", CallerKind.PERSON, Role.CUSTOMER, "bmw_nl", subject_id="s1")
    contract = ContractCover("k1", "s1", T0)
    ok = decide(
        POLICY,
        req(me, "contract_performance", "contact_data"),
        SubjectFacts("s1", contracts=(contract,)),
    )
    check(ok, Outcome.ALLOW, "purpose.allowed")
    other = decide(
        POLICY, req(me, "contract_performance", "contact_data", subject_id="s2"), SubjectFacts("s2")
    )
    check(other, Outcome.DENY, "caller.not_own_data")


def test_consent_purpose_needs_consent_at_that_time() -> None:
    r = req(MARKETING_SYSTEM, "marketing_email", "contact_data")
    check(decide(POLICY, r, SubjectFacts("s1")), Outcome.DENY, "consent.required")
    later = consent(given=AT + timedelta(seconds=1))
    check(
        decide(POLICY, r, SubjectFacts("s1", consents=(later,))), Outcome.DENY, "consent.required"
    )
    other_subject = consent(subject="s2")
    check(
        decide(POLICY, r, SubjectFacts("s1", consents=(other_subject,))),
        Outcome.DENY,
        "consent.required",
    )
    check(
        decide(POLICY, r, SubjectFacts("s1", consents=(consent(),))),
        Outcome.ALLOW,
        "purpose.allowed",
    )


def test_withdrawal_denies_from_that_moment() -> None:
    c = consent(withdrawn=AT)
    before = req(
        MARKETING_SYSTEM, "marketing_email", "contact_data", at=AT - timedelta(microseconds=1)
    )
    at = req(MARKETING_SYSTEM, "marketing_email", "contact_data", at=AT)
    check(
        decide(POLICY, before, SubjectFacts("s1", consents=(c,))), Outcome.ALLOW, "purpose.allowed"
    )
    check(decide(POLICY, at, SubjectFacts("s1", consents=(c,))), Outcome.DENY, "consent.withdrawn")


def test_opt_out_topic_denies_only_while_refused() -> None:
    eu = Caller("eu", CallerKind.MACHINE, Role.PARTNER, "eu_commission")
    r = req(eu, "obfcm_reporting", "obfcm", vehicle_id="v1")
    check(decide(POLICY, r, SubjectFacts("s1", "v1")), Outcome.ALLOW, "purpose.allowed")
    refused = consent("obfcm_refusal", choice=ConsentChoice.REFUSED, vehicle="v1")
    check(
        decide(POLICY, r, SubjectFacts("s1", "v1", consents=(refused,))),
        Outcome.DENY,
        "consent.refused",
    )
    other_vehicle = consent("obfcm_refusal", choice=ConsentChoice.REFUSED, vehicle="v2")
    check(
        decide(POLICY, r, SubjectFacts("s1", "v1", consents=(other_vehicle,))),
        Outcome.ALLOW,
        "purpose.allowed",
    )


def test_contract_purpose_needs_a_contract_for_subject_and_vehicle() -> None:
    r = req(STAFF, "contract_performance", "vehicle_status", vehicle_id="v1")
    check(decide(POLICY, r, SubjectFacts("s1", "v1")), Outcome.DENY, "contract.required")
    ended = ContractCover("k1", "s1", T0, end=AT, vehicle_id="v1")
    check(
        decide(POLICY, r, SubjectFacts("s1", "v1", contracts=(ended,))),
        Outcome.DENY,
        "contract.required",
    )
    other_vehicle = ContractCover("k1", "s1", T0, vehicle_id="v2")
    check(
        decide(POLICY, r, SubjectFacts("s1", "v1", contracts=(other_vehicle,))),
        Outcome.DENY,
        "contract.required",
    )
    running = ContractCover("k1", "s1", T0, vehicle_id="v1")
    check(
        decide(POLICY, r, SubjectFacts("s1", "v1", contracts=(running,))),
        Outcome.ALLOW,
        "purpose.allowed",
    )


def test_vehicle_request_resolves_the_user_at_that_time() -> None:
    usage = (UsagePeriod("v1", "old", T0, AT), UsagePeriod("v1", "new", AT))
    contracts = (ContractCover("k1", "old", T0, vehicle_id="v1"),)
    facts = SubjectFacts(vehicle_id="v1", usage=usage, contracts=contracts)
    before = req(
        STAFF,
        "contract_performance",
        "vehicle_status",
        subject_id=None,
        vehicle_id="v1",
        at=AT - timedelta(days=1),
    )
    after = replace(before, at=AT + timedelta(days=1))
    check(decide(POLICY, before, facts), Outcome.ALLOW, "purpose.allowed")
    check(decide(POLICY, after, facts), Outcome.DENY, "contract.required")


def test_objection_stops_legitimate_interest_unless_overridden() -> None:
    r = req(DEALER, "after_sales_service", "maintenance", vehicle_id="v1")
    objection = Objection("o1", "s1", T0, "s1", purpose="after_sales_service")
    check(
        decide(POLICY, r, SubjectFacts("s1", objections=(objection,))),
        Outcome.DENY,
        "objection.art21",
    )
    override = Override(
        "x1",
        "s1",
        "after_sales_service",
        OverrideGround.LEGAL_CLAIMS,
        "warranty dispute file 12",
        "dpo",
        T0,
    )
    d = decide(POLICY, r, SubjectFacts("s1", objections=(objection,), overrides=(override,)))
    check(d, Outcome.ALLOW, "purpose.allowed")
    assert "objection.overridden" in [x.rule for x in d.reasons]
    other_purpose = Objection("o2", "s1", T0, "s1", purpose="product_development")
    check(
        decide(POLICY, r, SubjectFacts("s1", objections=(other_purpose,))),
        Outcome.ALLOW,
        "purpose.allowed",
    )


def test_marketing_objection_has_no_override() -> None:
    r = req(MARKETING_SYSTEM, "market_research", "contact_data")
    objection = Objection("o1", "s1", T0, "s1", marketing=True)
    override = Override(
        "x1", "s1", "market_research", OverrideGround.COMPELLING_GROUNDS, "g", "dpo", T0
    )
    facts = SubjectFacts("s1", objections=(objection,), overrides=(override,))
    check(decide(POLICY, r, facts), Outcome.DENY, "objection.marketing")
    # also stops consent-based marketing
    mail = req(MARKETING_SYSTEM, "marketing_email", "contact_data")
    facts = SubjectFacts("s1", consents=(consent(),), objections=(objection,))
    check(decide(POLICY, mail, facts), Outcome.DENY, "objection.marketing")


def test_restriction_allows_only_legal_claims_or_consent() -> None:
    restriction = Restriction(
        "r1", "s1", RestrictionCase.ACCURACY_CONTESTED, T0, "dpo", categories=("contact_data",)
    )
    facts = SubjectFacts("s1", restrictions=(restriction,), consents=(consent(),))
    check(
        decide(POLICY, req(STAFF, "customer_service", "contact_data"), facts),
        Outcome.DENY,
        "restriction.art18",
    )
    check(
        decide(POLICY, req(STAFF, "customer_service", "vehicle_status"), facts),
        Outcome.ALLOW,
        "purpose.allowed",
    )
    legal = Caller("lawyer", CallerKind.PERSON, Role.PRIVACY_OFFICER, "mini_nl_staff")
    check(
        decide(POLICY, req(legal, "legal_claims", "contact_data"), facts),
        Outcome.ALLOW,
        "purpose.allowed",
    )
    check(
        decide(POLICY, req(MARKETING_SYSTEM, "marketing_email", "contact_data"), facts),
        Outcome.ALLOW,
        "purpose.allowed",
    )
    lifted = replace(restriction, lifted_at=AT, lift_notice="letter")
    check(
        decide(
            POLICY,
            req(STAFF, "customer_service", "contact_data"),
            SubjectFacts("s1", restrictions=(lifted,)),
        ),
        Outcome.ALLOW,
        "purpose.allowed",
    )


@pytest.mark.parametrize(
    ("expires", "outcome"),
    [
        ((AT - timedelta(seconds=1)).isoformat(), Outcome.DENY),
        (AT.isoformat(), Outcome.DENY),
        ((AT + timedelta(days=1)).isoformat(), Outcome.ALLOW),
        ("garbage", Outcome.DENY),
        ("2030-01-01T00:00:00", Outcome.DENY),
    ],
)
def test_expired_data_is_never_returned(expires: str, outcome: Outcome) -> None:
    r = req(DEALER, "after_sales_service", "maintenance", extra={"expires_at": expires})
    d = decide(POLICY, r, SubjectFacts("s1"))
    assert d.outcome is outcome
    if outcome is Outcome.DENY:
        assert d.rule == "retention.expired"


def test_third_country_without_safeguards_is_refused_and_scc_allowed() -> None:
    r = req(GEOCODER, "geocoding", "contact_data")
    facts = SubjectFacts("s1", contracts=(ContractCover("k1", "s1", T0),))
    d = decide(POLICY, r, facts)
    check(d, Outcome.ALLOW, "purpose.allowed")
    assert "transfer.safeguarded" in [x.rule for x in d.reasons]
    unsafe = third_country_recipient(POLICY, "google_geocoding")
    check(decide(unsafe, r, facts), Outcome.DENY, "transfer.no_mechanism")


def test_minimisation_gives_only_the_recipients_fields() -> None:
    r = req(GEOCODER, "geocoding", "contact_data")
    d = decide(POLICY, r, SubjectFacts("s1", contracts=(ContractCover("k1", "s1", T0),)))
    assert d.fields == {"contact_data": ("street", "house_number", "postal_code", "country")}


def test_service_countries_limit_a_recipient() -> None:
    partner = Caller("p", CallerKind.MACHINE, Role.PARTNER, "energy_partner")
    c = dataclasses.replace(consent("cardata_sharing"), party="p")
    r = req(partner, "energy_tariff", "contact_data")
    check(
        decide(POLICY, r, SubjectFacts("s1", country="NL", consents=(c,))),
        Outcome.ALLOW,
        "purpose.allowed",
    )
    check(
        decide(POLICY, r, SubjectFacts("s1", country="BE", consents=(c,))),
        Outcome.DENY,
        "recipient.service_country",
    )


def test_a_consent_to_one_chosen_party_is_no_consent_to_another() -> None:
    """C1: CarData goes to "de door mij gekozen externe partij": a consent names the party."""
    chosen = Caller("p", CallerKind.MACHINE, Role.PARTNER, "energy_partner")
    other = Caller("q", CallerKind.MACHINE, Role.PARTNER, "energy_partner")
    c = dataclasses.replace(consent("cardata_sharing"), party="p")
    facts = SubjectFacts("s1", country="NL", consents=(c,))
    check(
        decide(POLICY, req(chosen, "energy_tariff", "contact_data"), facts),
        Outcome.ALLOW,
        "purpose.allowed",
    )
    check(
        decide(POLICY, req(other, "energy_tariff", "contact_data"), facts),
        Outcome.DENY,
        "consent.required",
    )


def test_forms_and_fields_follow_the_purpose() -> None:
    dealer = decide(POLICY, req(DEALER, "after_sales_service", "maintenance"), SubjectFacts("s1"))
    assert dealer.form is Form.VEHICLE_LINKED
    assert dealer.fields is not None
    assert (
        "vin" in dealer.fields["maintenance"] and "customer_id" not in dealer.fields["maintenance"]
    )
    rnd = decide(POLICY, req(ANALYST, "product_development", "maintenance"), SubjectFacts("s1"))
    assert rnd.form is Form.PSEUDONYMISED
    assert rnd.fields is not None and "customer_id" in rnd.fields["maintenance"]
    agg = decide(POLICY, req(DEALER, "dealer_reports", "vehicle_status"), SubjectFacts("s1"))
    assert agg.form is Form.AGGREGATED_ANONYMOUS
    assert agg.fields == {"vehicle_status": ("mileage", "battery_voltage", "door_state")}


def test_decision_fields_cannot_corrupt_the_cache() -> None:
    d = decide(POLICY, req(DEALER, "after_sales_service", "maintenance"), SubjectFacts("s1"))
    assert d.fields is not None
    d.fields["maintenance"] = ("everything",)
    again = decide(POLICY, req(DEALER, "after_sales_service", "maintenance"), SubjectFacts("s1"))
    assert again.fields is not None and again.fields["maintenance"] != ("everything",)


def test_decide_many_and_compiled_policy_agree_with_decide() -> None:
    cp = compile_policy(POLICY)
    assert compile_policy(POLICY) is cp
    pairs = [
        (req(DEALER, "after_sales_service", "maintenance"), SubjectFacts("s1")),
        (req(MARKETING_SYSTEM, "marketing_email", "contact_data"), SubjectFacts("s1")),
    ]
    assert decide_many(POLICY, pairs) == [decide(POLICY, r, f) for r, f in pairs]


def test_obfcm_refusal_counts_for_a_request_without_vehicle() -> None:
    eu = Caller("eu", CallerKind.MACHINE, Role.PARTNER, "eu_commission")
    refused = consent("obfcm_refusal", choice=ConsentChoice.REFUSED, vehicle="v1")
    r = req(eu, "obfcm_reporting", "obfcm")
    check(
        decide(POLICY, r, SubjectFacts("s1", consents=(refused,))),
        Outcome.DENY,
        "consent.refused",
    )
