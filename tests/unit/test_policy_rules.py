"""The policy rules (SPEC P7): each rule on a broken copy, and random breakage."""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carprivacy.adapters.policy.loader import load_policy_file
from carprivacy.domain.errors import Problem
from carprivacy.domain.policy import (
    DataCategory,
    Form,
    LegalBasis,
    Policy,
    Purpose,
    Recipient,
    RecipientKind,
    RestrictionGround,
    Right,
    TransferMechanism,
)
from carprivacy.domain.policy_rules import validate

POLICY_PATH = Path(__file__).resolve().parents[2] / "policies" / "mini-connected-nl.yaml"


@cache
def valid() -> Policy:
    return load_policy_file(POLICY_PATH)


def idx(items: tuple[object, ...], ident: str) -> int:
    return next(i for i, x in enumerate(items) if getattr(x, "id", None) == ident)


def with_purpose(policy: Policy, i: int, **changes: object) -> Policy:
    purposes = list(policy.purposes)
    purposes[i] = replace(purposes[i], **changes)  # type: ignore[arg-type]
    return replace(policy, purposes=tuple(purposes))


def with_recipient(policy: Policy, i: int, **changes: object) -> Policy:
    recipients = list(policy.recipients)
    recipients[i] = replace(recipients[i], **changes)  # type: ignore[arg-type]
    return replace(policy, recipients=tuple(recipients))


def found(problems: list[Problem]) -> set[tuple[str, str]]:
    return {(p.path, p.rule) for p in problems}


def test_the_shipped_policy_keeps_every_rule() -> None:
    assert validate(valid()) == []


def test_consent_purpose_without_topic() -> None:
    i = idx(valid().purposes, "marketing_email")
    problems = validate(with_purpose(valid(), i, consent_topic=None))
    assert (f"purposes[{i}].consent_topic", "consent.topic_required") in found(problems)
    # the topic is now unused, which is reported too
    t = idx(valid().consent_topics, "marketing_email")
    assert (f"consent_topics[{t}]", "consent.topic_unused") in found(problems)


def test_opt_in_topic_on_a_non_consent_purpose_and_opt_out_consent() -> None:
    i = idx(valid().purposes, "market_research")
    problems = validate(with_purpose(valid(), i, consent_topic="profiling"))
    assert (f"purposes[{i}].consent_topic", "consent.opt_in_needs_consent_basis") in found(problems)
    j = idx(valid().purposes, "cardata_sharing")
    problems = validate(with_purpose(valid(), j, consent_topic="obfcm_refusal"))
    assert (f"purposes[{j}].consent_topic", "consent.opt_out_is_not_consent") in found(problems)


def test_portability_on_legitimate_interest() -> None:
    i = idx(valid().purposes, "product_development")
    problems = validate(with_purpose(valid(), i, offers_portability=True))
    assert found(problems) == {(f"purposes[{i}].offers_portability", "portability.basis")}
    assert "Art. 20(1)(a)" in problems[0].message


def test_category_without_retention() -> None:
    c = idx(valid().categories, "obfcm")
    policy = replace(
        valid(), retention=tuple(r for r in valid().retention if r.category != "obfcm")
    )
    assert found(validate(policy)) == {(f"categories[{c}]", "retention.missing")}


def test_retention_for_a_purpose_that_does_not_use_the_category() -> None:
    r = next(i for i, x in enumerate(valid().retention) if x.purpose == "contract_performance")
    rules = list(valid().retention)
    rules[r] = replace(rules[r], purpose="geocoding")
    problems = validate(replace(valid(), retention=tuple(rules)))
    assert (f"retention[{r}].purpose", "retention.purpose_does_not_use_category") in found(problems)


@pytest.mark.parametrize(
    ("field", "kind", "value"),
    [
        ("categories", "category", ("contact", "no_such_category")),
        ("recipients", "recipient", ("mini_nl_staff", "nobody")),
        ("controllers", "controller", ("mini_nl", "mini_xx")),
        ("data_subjects", "data_subject", ("customer", "martian")),
    ],
)
def test_unknown_references_in_a_purpose(field: str, kind: str, value: tuple[str, ...]) -> None:
    i = idx(valid().purposes, "customer_service")
    problems = validate(with_purpose(valid(), i, **{field: value}))
    assert (f"purposes[{i}].{field}[1]", f"reference.unknown_{kind}") in found(problems)


def test_unknown_consent_topic_purpose_recipient_field_and_controller() -> None:
    p = valid()
    i = idx(p.purposes, "profiling")
    policy = with_purpose(p, i, consent_topic="no_topic")
    r = idx(p.recipients, "google_geocoding")
    policy = with_recipient(policy, r, allowed_fields=("street", "shoe_size"))
    s = idx(p.recipients, "mini_nl_staff")
    policy = with_recipient(policy, s, controller="mini_be")
    rules = list(p.retention)
    rules[0] = replace(rules[0], purpose="no_purpose")
    policy = replace(policy, retention=tuple(rules))
    got = found(validate(policy))
    assert (f"purposes[{i}].consent_topic", "reference.unknown_consent_topic") in got
    assert (f"recipients[{r}].allowed_fields[1]", "reference.unknown_field") in got
    assert (f"recipients[{s}].controller", "reference.unknown_controller") in got
    assert ("retention[0].purpose", "reference.unknown_purpose") in got


def test_unknown_section() -> None:
    r = idx(valid().recipients, "dealers")
    problems = validate(with_recipient(valid(), r, section="Z"))
    assert found(problems) == {(f"recipients[{r}].section", "reference.unknown_section")}
    i = idx(valid().purposes, "recall")
    problems = validate(with_purpose(valid(), i, section="retention"))
    assert (f"purposes[{i}].section", "section.purpose_letter") in found(problems)


@pytest.mark.parametrize("mechanism", [TransferMechanism.NONE, TransferMechanism.EEA])
def test_third_country_without_mechanism(mechanism: TransferMechanism) -> None:
    r = idx(valid().recipients, "google_geocoding")
    problems = validate(with_recipient(valid(), r, transfer_mechanism=mechanism))
    rule = "transfer.mechanism_missing" if mechanism is TransferMechanism.NONE else "eea_outside"
    assert [p.path for p in problems] == [f"recipients[{r}].transfer_mechanism"]
    assert rule.split(".")[-1] in problems[0].rule


def test_pseudonymised_purpose_recipient_with_direct_identifiers() -> None:
    r = idx(valid().recipients, "catena_x_partners")
    rec = valid().recipients[r]
    policy = with_recipient(valid(), r, allowed_fields=(*rec.allowed_fields, "vin"))
    i = idx(valid().purposes, "development_partners")
    j = valid().purposes[i].recipients.index("catena_x_partners")
    problems = validate(policy)
    assert found(problems) == {(f"purposes[{i}].recipients[{j}]", "minimisation.direct_identifier")}
    assert "vin" in problems[0].message


def test_vehicle_linked_purpose_may_see_the_vin_but_not_the_customer() -> None:
    r = idx(valid().recipients, "fleet_operators")
    i = idx(valid().purposes, "fleet_operation")
    policy = with_purpose(valid(), i, categories=(*valid().purposes[i].categories, "contact"))
    assert validate(policy) == []  # the VIN (links_vehicle) is fine for vehicle_linked
    rec = valid().recipients[r]
    policy = with_recipient(policy, r, allowed_fields=(*rec.allowed_fields, "surname"))
    assert (f"purposes[{i}].recipients[0]", "minimisation.direct_identifier") in found(
        validate(policy)
    )


def test_empty_allowed_fields_on_an_anonymous_purpose_is_fine() -> None:
    """The form strips direct identifiers: an empty list is not a leak (documented decision)."""
    r = idx(valid().recipients, "anonymised_data_recipients")
    assert valid().recipients[r].allowed_fields == ()
    assert valid().purpose("anonymised_third_parties").form is Form.AGGREGATED_ANONYMOUS


def test_recipient_limited_to_fields_the_purpose_never_has() -> None:
    i = idx(valid().purposes, "dealer_reports")
    policy = with_purpose(valid(), i, recipients=("solar_forecast_partners",))
    assert (f"purposes[{i}].recipients[0]", "minimisation.no_field_for_purpose") in found(
        validate(policy)
    )


def test_duplicate_ids() -> None:
    p = valid()
    policy = replace(
        p,
        purposes=(*p.purposes, p.purposes[3]),
        categories=(*p.categories, p.categories[0]),
        recipients=(*p.recipients, p.recipients[2]),
    )
    got = found(validate(policy))
    assert (f"purposes[{len(p.purposes)}].id", "duplicate_id") in got
    assert (f"categories[{len(p.categories)}].id", "duplicate_id") in got
    assert (f"recipients[{len(p.recipients)}].id", "duplicate_id") in got


def test_marketing_objection_cannot_be_overridden() -> None:
    i = idx(valid().purposes, "marketing_post")
    problems = validate(with_purpose(valid(), i, objection_override_allowed=True))
    assert found(problems) == {
        (f"purposes[{i}].objection_override_allowed", "objection.marketing_override")
    }


def test_internal_recipient_names_its_controller_and_one_account_owner() -> None:
    r = idx(valid().recipients, "mini_nl_staff")
    policy = with_recipient(valid(), r, controller=None)
    assert found(validate(policy)) == {
        (f"recipients[{r}].controller", "recipient.controller_required")
    }
    controllers = tuple(replace(c, account_owner=True) for c in valid().controllers)
    problems = validate(replace(valid(), controllers=controllers))
    assert found(problems) == {("controllers[1].account_owner", "controller.account_owner_unique")}


def test_rights_missing() -> None:
    rights = tuple(r for r in valid().rights if r.right not in (Right.PORTABILITY, Right.ACCESS))
    problems = validate(replace(valid(), rights=rights))
    assert [p.rule for p in problems] == ["rights.missing", "rights.missing"]
    assert "Art. 15" in problems[0].message and "Art. 20" in problems[1].message


def test_every_problem_is_listed_not_only_the_first() -> None:
    p = valid()
    policy = with_purpose(p, idx(p.purposes, "profiling"), consent_topic=None)
    policy = with_purpose(policy, idx(p.purposes, "compliance"), offers_portability=True)
    policy = with_recipient(
        policy, idx(p.recipients, "google_geocoding"), transfer_mechanism=TransferMechanism.NONE
    )
    rules = {x.rule for x in validate(policy)}
    assert {"consent.topic_required", "portability.basis", "transfer.mechanism_missing"} <= rules


# ---- random breakage: whatever rule a mutation breaks, the report names it at the right path


def _break_consent(p: Policy, data: st.DataObject) -> tuple[Policy, tuple[str, str]]:
    choices = [i for i, x in enumerate(p.purposes) if x.legal_basis is LegalBasis.CONSENT]
    i = data.draw(st.sampled_from(choices))
    return with_purpose(p, i, consent_topic=None), (
        f"purposes[{i}].consent_topic",
        "consent.topic_required",
    )


def _break_portability(p: Policy, data: st.DataObject) -> tuple[Policy, tuple[str, str]]:
    choices = [i for i, x in enumerate(p.purposes) if not x.legal_basis.allows_portability]
    i = data.draw(st.sampled_from(choices))
    return with_purpose(p, i, offers_portability=True), (
        f"purposes[{i}].offers_portability",
        "portability.basis",
    )


def _break_retention(p: Policy, data: st.DataObject) -> tuple[Policy, tuple[str, str]]:
    i = data.draw(st.integers(0, len(p.categories) - 1))
    cat: DataCategory = p.categories[i]
    rules = tuple(r for r in p.retention if r.category != cat.id)
    return replace(p, retention=rules), (f"categories[{i}]", "retention.missing")


def _break_reference(p: Policy, data: st.DataObject) -> tuple[Policy, tuple[str, str]]:
    i = data.draw(st.integers(0, len(p.purposes) - 1))
    purpose: Purpose = p.purposes[i]
    field, kind, known = data.draw(
        st.sampled_from(
            [
                ("categories", "category", p.categories_by_id),
                ("recipients", "recipient", p.recipients_by_id),
                ("controllers", "controller", p.controllers_by_id),
            ]
        )
    )
    current: tuple[str, ...] = getattr(purpose, field)
    j = data.draw(st.integers(0, len(current)))
    bogus = data.draw(
        st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True).filter(lambda s: s not in known)
    )
    changed = (*current[:j], bogus, *current[j:])
    return with_purpose(p, i, **{field: changed}), (
        f"purposes[{i}].{field}[{j}]",
        f"reference.unknown_{kind}",
    )


def _break_transfer(p: Policy, data: st.DataObject) -> tuple[Policy, tuple[str, str]]:
    r = data.draw(st.integers(0, len(p.recipients) - 1))
    country = data.draw(st.sampled_from(["US", "CN", "IN", "BR", "JP", "CA", "CH"]))
    return with_recipient(p, r, country=country, transfer_mechanism=TransferMechanism.NONE), (
        f"recipients[{r}].transfer_mechanism",
        "transfer.mechanism_missing",
    )


def _break_minimisation(p: Policy, data: st.DataObject) -> tuple[Policy, tuple[str, str]]:
    masked = (Form.PSEUDONYMISED, Form.AGGREGATED_ANONYMOUS)
    pairs = [
        (i, j)
        for i, x in enumerate(p.purposes)
        if x.form in masked
        for j in range(len(x.recipients))
    ]
    i, j = data.draw(st.sampled_from(pairs))
    purpose = p.purposes[i]
    identifiers = sorted(
        f.name for c in purpose.categories for f in p.category(c).fields if f.direct_identifier
    )
    field = data.draw(st.sampled_from(identifiers))
    r = idx(p.recipients, purpose.recipients[j])
    rec: Recipient = p.recipients[r]
    # a private recipient for this purpose only, so the break cannot leak into other purposes
    clone = replace(rec, id=f"{rec.id}_x", allowed_fields=(*rec.allowed_fields, field))
    if clone.kind in (RecipientKind.INTERNAL, RecipientKind.JOINT_CONTROLLER):
        clone = replace(clone, kind=RecipientKind.THIRD_PARTY)
    recipients = list(purpose.recipients)
    recipients[j] = clone.id
    policy = replace(p, recipients=(*p.recipients, clone))
    return with_purpose(policy, i, recipients=tuple(recipients)), (
        f"purposes[{i}].recipients[{j}]",
        "minimisation.direct_identifier",
    )


def _break_duplicate(p: Policy, data: st.DataObject) -> tuple[Policy, tuple[str, str]]:
    i = data.draw(st.integers(0, len(p.purposes) - 1))
    return replace(p, purposes=(*p.purposes, p.purposes[i])), (
        f"purposes[{len(p.purposes)}].id",
        "duplicate_id",
    )


MUTATIONS = [
    _break_consent,
    _break_portability,
    _break_retention,
    _break_reference,
    _break_transfer,
    _break_minimisation,
    _break_duplicate,
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_random_breakage_is_reported_at_its_path(data: st.DataObject) -> None:
    mutation = data.draw(st.sampled_from(MUTATIONS))
    broken, expected = mutation(valid(), data)
    assert expected in found(validate(broken))


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_several_breakages_are_all_reported(data: st.DataObject) -> None:
    """Independent breakages (each on its own collection) are all listed in one run."""
    policy = valid()
    policy, a = _break_transfer(policy, data)
    policy, b = _break_retention(policy, data)
    policy, c = _break_duplicate(policy, data)
    assert {a, b, c} <= found(validate(policy))


def test_unused_category_and_recipient() -> None:
    p = valid()
    i = idx(p.purposes, "obfcm_reporting")
    c = idx(p.categories, "obfcm")
    r = idx(p.recipients, "eu_commission")
    policy = replace(p, purposes=p.purposes[:i] + p.purposes[i + 1 :])
    got = found(validate(policy))
    assert (f"categories[{c}]", "category.unused") in got
    assert (f"recipients[{r}]", "recipient.unused") in got


def _topic_versions(p: Policy, valid_from: str) -> Policy:
    topics = list(p.consent_topics)
    v = topics[0].versions[0]
    topics[0] = replace(topics[0], versions=(replace(v, valid_from=valid_from),))
    return replace(p, consent_topics=tuple(topics))


def _rule_on(p: Policy, **changes: object) -> Policy:
    rules = list(p.retention)
    rules[0] = replace(rules[0], **changes)  # type: ignore[arg-type]
    return replace(p, retention=tuple(rules))


def _purpose_of(p: Policy, ident: str, **changes: object) -> Policy:
    return with_purpose(p, idx(p.purposes, ident), **changes)


def _recipient_of(p: Policy, ident: str, **changes: object) -> Policy:
    return with_recipient(p, idx(p.recipients, ident), **changes)


def _section_of(p: Policy, ident: str, **changes: object) -> Policy:
    sections = list(p.sections)
    i = idx(p.sections, ident)
    sections[i] = replace(sections[i], **changes)  # type: ignore[arg-type]
    return replace(p, sections=tuple(sections))


def _topic_of(p: Policy, ident: str, **changes: object) -> Policy:
    topics = list(p.consent_topics)
    i = idx(p.consent_topics, ident)
    topics[i] = replace(topics[i], **changes)  # type: ignore[arg-type]
    return replace(p, consent_topics=tuple(topics))


BREAKERS = {
    "duplicate_id": lambda p: replace(p, recipients=(*p.recipients, p.recipients[0])),
    "reference.unknown_category": lambda p: _rule_on(p, category="nope"),
    "reference.unknown_purpose": lambda p: _rule_on(p, purpose="nope"),
    "reference.unknown_recipient": lambda p: _purpose_of(p, "recall", recipients=("nope",)),
    "reference.unknown_controller": lambda p: _purpose_of(p, "recall", controllers=("nope",)),
    "reference.unknown_consent_topic": lambda p: _purpose_of(p, "profiling", consent_topic="x"),
    "reference.unknown_data_subject": lambda p: _purpose_of(p, "recall", data_subjects=("x",)),
    "reference.unknown_field": lambda p: _recipient_of(p, "dealers", allowed_fields=("x",)),
    "reference.unknown_section": lambda p: _rule_on(p, section="Z"),
    "section.purpose_letter": lambda p: _purpose_of(p, "recall", section="security"),
    "consent.topic_required": lambda p: _purpose_of(p, "profiling", consent_topic=None),
    "consent.opt_in_needs_consent_basis": lambda p: _purpose_of(
        p, "profiling", legal_basis=LegalBasis.CONTRACT
    ),
    "consent.opt_out_is_not_consent": lambda p: _purpose_of(
        p, "obfcm_reporting", legal_basis=LegalBasis.CONSENT
    ),
    "consent.topic_unused": lambda p: _purpose_of(p, "obfcm_reporting", consent_topic=None),
    "consent.version_date": lambda p: _topic_versions(p, "2026-13-45"),
    "portability.basis": lambda p: _purpose_of(p, "recall", offers_portability=True),
    "retention.missing": lambda p: replace(
        p, retention=tuple(r for r in p.retention if r.category != "sensor")
    ),
    "retention.purpose_does_not_use_category": lambda p: _rule_on(p, purpose="geocoding"),
    "transfer.mechanism_missing": lambda p: _recipient_of(
        p, "google_geocoding", transfer_mechanism=TransferMechanism.NONE
    ),
    "transfer.eea_outside_eea": lambda p: _recipient_of(p, "workshops", country="JP"),
    "recipient.gatekeeper": lambda p: _recipient_of(
        p, "cardata_third_parties", undertaking="alphabet"
    ),
    "minimisation.direct_identifier": lambda p: _recipient_of(
        p, "catena_x_partners", allowed_fields=("vin", "mileage")
    ),
    "minimisation.no_field_for_purpose": lambda p: _recipient_of(
        p, "catena_x_partners", allowed_fields=("surname",)
    ),
    "objection.marketing_override": lambda p: _purpose_of(
        p, "marketing_phone", objection_override_allowed=True
    ),
    "recipient.controller_required": lambda p: _recipient_of(p, "mini_ag_staff", controller=None),
    "controller.account_owner_unique": lambda p: replace(
        p, controllers=tuple(replace(c, account_owner=True) for c in p.controllers)
    ),
    "category.unused": lambda p: replace(
        p, purposes=tuple(x for x in p.purposes if "obfcm" not in x.categories)
    ),
    "recipient.unused": lambda p: _purpose_of(p, "geocoding", recipients=("mini_ag_staff",)),
    "rights.missing": lambda p: replace(p, rights=p.rights[1:]),
    # section C holds only legitimate-interest purposes: a heading naming consent would lie
    "section.basis_without_purpose": lambda p: _section_of(
        p, "C", legal_bases=(LegalBasis.CONSENT,)
    ),
    "section.bases_outside_purpose_section": lambda p: _section_of(
        p, "retention", legal_bases=(LegalBasis.CONTRACT,)
    ),
    "consent.unknown_channel": lambda p: _topic_of(p, "obfcm_refusal", recorded_via=("fax",)),
    "restriction.ground_conflict": lambda p: _purpose_of(
        p, "legal_claims", restriction_ground=RestrictionGround.STORAGE
    ),
}


def test_every_rule_has_a_breaking_example() -> None:
    from carprivacy.domain.policy_rules import RULES

    assert set(BREAKERS) == set(RULES)


@pytest.mark.parametrize("rule", sorted(BREAKERS))
def test_each_rule_is_reported_on_its_broken_copy(rule: str) -> None:
    broken = BREAKERS[rule](valid())
    assert rule in {p.rule for p in validate(broken)}
