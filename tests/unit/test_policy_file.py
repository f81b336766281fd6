"""The shipped policy reproduces the notice (SPEC P1-P6)."""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

import pytest

from carprivacy.adapters.policy.loader import load_policy_file
from carprivacy.domain.policy import (
    EEA_COUNTRIES,
    ConsentKind,
    ExpiryAction,
    Form,
    LegalBasis,
    Policy,
    RetentionAnchor,
    Right,
    Sensitivity,
    TransferMechanism,
)
from carprivacy.domain.policy_rules import validate
from carprivacy.testing.decision_policy import with_adequacy_suppliers

ROOT = Path(__file__).resolve().parents[2]
POLICY_PATH = ROOT / "policies" / "mini-connected-nl.yaml"
DATA = ROOT / "tests" / "data"
SECTIONS = set("ABCDEFGH")


@cache
def policy() -> Policy:
    return load_policy_file(POLICY_PATH)


@cache
def fides_ids(kind: str) -> frozenset[str]:
    with (DATA / "fideslang-3.1.4-taxonomy.csv").open(encoding="utf-8") as fh:
        return frozenset(r["fides_key"] for r in csv.DictReader(fh) if r["kind"] == kind)


@cache
def vss_signals() -> frozenset[str]:
    with (DATA / "vss-6.0.csv").open(encoding="utf-8") as fh:
        return frozenset(r["Signal"] for r in csv.DictReader(fh) if r["Type"] != "branch")


CATEGORY_IDS = [
    "contact", "account", "contract", "financial_transactions", "vehicle_status",
    "position_movement", "maintenance_service", "traffic_info", "environment", "user_profile",
    "sensor", "vehicle_general", "obfcm",
]  # fmt: skip

PURPOSES = {
    "contract_conclusion": ("A", LegalBasis.CONTRACT),
    "contract_performance": ("B", LegalBasis.CONTRACT),
    "product_development": ("C", LegalBasis.LEGITIMATE_INTEREST),
    "dealer_reports": ("D", LegalBasis.LEGITIMATE_INTEREST),
    "after_sales_service": ("D", LegalBasis.LEGITIMATE_INTEREST),
    "group_accounting": ("D", LegalBasis.LEGITIMATE_INTEREST),
    "customer_service": ("E", LegalBasis.CONTRACT),
    "customer_service_consent": ("E", LegalBasis.CONSENT),
    "marketing_post": ("F", LegalBasis.CONSENT),
    "marketing_email": ("F", LegalBasis.CONSENT),
    "marketing_phone": ("F", LegalBasis.CONSENT),
    "marketing_messaging": ("F", LegalBasis.CONSENT),
    "profiling": ("F", LegalBasis.CONSENT),
    "market_research": ("F", LegalBasis.LEGITIMATE_INTEREST),
    "recall": ("G", LegalBasis.LEGAL_OBLIGATION),
    "aml_sanctions": ("G", LegalBasis.LEGAL_OBLIGATION),
    "it_security": ("G", LegalBasis.LEGAL_OBLIGATION),
    "compliance": ("G", LegalBasis.LEGITIMATE_INTEREST),
    "obfcm_reporting": ("G", LegalBasis.LEGAL_OBLIGATION),
    "authority_requests": ("G", LegalBasis.LEGAL_OBLIGATION),
    "legal_claims": ("G", LegalBasis.LEGITIMATE_INTEREST),
    "cardata_sharing": ("H", LegalBasis.CONSENT),
    "fleet_operation": ("H", LegalBasis.LEGITIMATE_INTEREST),
    "development_partners": ("H", LegalBasis.LEGITIMATE_INTEREST),
    "anonymised_third_parties": ("H", LegalBasis.LEGITIMATE_INTEREST),
    "geocoding": ("H", LegalBasis.CONTRACT),
    "solar_forecast": ("H", LegalBasis.CONTRACT),
    "energy_tariffs": ("H", LegalBasis.CONTRACT),
    "payment_processing": ("H", LegalBasis.CONTRACT),
}

RECIPIENT_IDS = [
    "mini_nl_staff", "mini_ag_staff", "dealers", "workshops", "fleet_operators",
    "cardata_third_parties", "catena_x_partners", "anonymised_data_recipients",
    "google_geocoding", "solar_forecast_partners", "energy_tariff_partners", "eu_commission",
    "authorities", "payment_providers", "it_service_providers",
]  # fmt: skip

TOPICS = [
    "marketing_post", "marketing_email", "marketing_phone", "marketing_messaging", "profiling",
    "cardata_sharing", "obfcm_refusal",
]  # fmt: skip


def test_the_agreed_category_ids_exist() -> None:
    assert set(CATEGORY_IDS) <= set(policy().categories_by_id)


@pytest.mark.parametrize("purpose_id", sorted(PURPOSES))
def test_each_agreed_purpose_has_its_section_and_basis(purpose_id: str) -> None:
    purpose = policy().purpose(purpose_id)
    assert (purpose.section, purpose.legal_basis) == PURPOSES[purpose_id]


def test_the_agreed_recipients_and_topics_exist() -> None:
    assert set(RECIPIENT_IDS) <= set(policy().recipients_by_id)
    assert set(TOPICS) <= set(policy().consent_topics_by_id)
    assert policy().consent_topics_by_id["obfcm_refusal"].kind is ConsentKind.OPT_OUT


def test_sensitive_categories() -> None:
    sensitive = {c.id for c in policy().categories if c.sensitivity is Sensitivity.SENSITIVE}
    assert {
        "position_movement",
        "sensor",
        "user_profile",
        "contact",
        "account",
        "financial_transactions",
    } <= sensitive
    assert "vehicle_general" not in sensitive


def test_controllers_and_the_group_account() -> None:
    nl = policy().controllers_by_id["mini_nl"]
    ag = policy().controllers_by_id["mini_ag"]
    assert nl.name == "BMW Nederland B.V." and "Einsteinlaan 5" in nl.address
    assert nl.dpo is not None and "2289 CC Rijswijk" in nl.dpo.address
    assert ag.registration is not None and "HRB 42243" in ag.registration
    assert "Petuelring 130" in ag.address[0]
    assert ag.account_owner and not nl.account_owner
    # both hold account data, separately: deleting the group login leaves MINI NL's records
    assert "account" in nl.holds and "account" in ag.holds


def test_every_fides_id_exists_in_the_fideslang_taxonomy() -> None:
    p = policy()
    assert {c.fides_category for c in p.categories} <= fides_ids("data_category")
    assert {u.fides_data_use for u in p.purposes} <= fides_ids("data_use")
    assert {s.fides_subject for s in p.data_subjects} <= fides_ids("data_subject")


def test_every_vss_name_exists_in_vss_6() -> None:
    names = {f.vss_signal for c in policy().categories for f in c.fields if f.vss_signal}
    vss = {n for n in names if not n.startswith("Private.CarPrivacy.")}
    assert len(vss) > 30, "the policy names vehicle signals"
    assert vss - vss_signals() == set()
    private = names - vss
    assert private and not private & vss_signals()
    vs = policy().category("vehicle_status")
    by_name = {f.name: f.vss_signal for f in vs.fields}
    assert by_name["mileage"] == "Vehicle.TraveledDistance"
    assert by_name["battery_voltage"] == "Vehicle.LowVoltageBattery.CurrentVoltage"
    pm = {f.name: f.vss_signal for f in policy().category("position_movement").fields}
    assert pm["latitude"] == "Vehicle.CurrentLocation.Latitude"
    assert pm["speed"] == "Vehicle.Speed"


def test_direct_identifiers_are_flagged() -> None:
    contact = policy().category("contact")
    assert {"customer_id", "surname", "first_name", "email", "phone", "street"} <= (
        contact.direct_identifier_fields
    )
    for cat in policy().categories:
        if cat.vehicle_data:
            vin = {f.name: f for f in cat.fields}.get("vin")
            assert vin is not None and vin.direct_identifier and vin.links_vehicle, cat.id


def test_minimisation_per_recipient() -> None:
    """P6: the notice's exact field lists."""
    r = policy().recipients_by_id
    assert set(r["google_geocoding"].allowed_fields) == {
        "street",
        "house_number",
        "postal_code",
        "country",
    }
    assert set(r["solar_forecast_partners"].allowed_fields) == {"home_latitude", "home_longitude"}
    assert set(r["energy_tariff_partners"].allowed_fields) == {
        "street",
        "house_number",
        "postal_code",
        "city",
    }
    # "Deze service is alleen beschikbaar in geselecteerde landen": the notice names none, so the
    # shipped file names none (a deployment lists its own; tests use with_service_countries)
    assert r["energy_tariff_partners"].service_countries == ()


def test_transfers() -> None:
    """P5: Google in the US under SCC; Canada and Switzerland by adequacy."""
    r = policy().recipients_by_id
    assert (r["google_geocoding"].country, r["google_geocoding"].transfer_mechanism) == (
        "US",
        TransferMechanism.SCC,
    )
    # the notice names Canada and Switzerland only as examples of adequacy, no recipient there:
    # the shipped file has none; a policy that adds them (the test fixture) is valid
    adequacy = {x.country for x in policy().recipients if x.transfer_mechanism.value == "adequacy"}
    assert adequacy == set()
    statement = policy().transfers_statement
    assert statement is not None and "Canada en Zwitserland" in statement.nl
    fixture = with_adequacy_suppliers(policy())
    assert validate(fixture) == []
    assert {x.country for x in fixture.recipients if x.transfer_mechanism.value == "adequacy"} == {
        "CA",
        "CH",
    }
    assert r["eu_commission"].in_eea
    for rec in policy().recipients:
        if rec.country not in EEA_COUNTRIES and rec.country != "EU":
            assert rec.transfer_mechanism in (TransferMechanism.ADEQUACY, TransferMechanism.SCC)


def test_forms_of_the_notice() -> None:
    p = policy()
    assert p.purpose("product_development").form is Form.PSEUDONYMISED
    assert p.purpose("development_partners").form is Form.PSEUDONYMISED
    assert p.purpose("dealer_reports").form is Form.AGGREGATED_ANONYMOUS
    assert p.purpose("anonymised_third_parties").form is Form.AGGREGATED_ANONYMOUS
    assert p.purpose("after_sales_service").form is Form.VEHICLE_LINKED
    assert "catena_x_partners" in p.purpose("development_partners").recipients
    assert "eu_commission" in p.purpose("obfcm_reporting").recipients
    assert p.purpose("obfcm_reporting").consent_topic == "obfcm_refusal"
    assert p.purpose("legal_claims").legal_claims


def test_marketing_purposes_have_one_topic_each_and_no_override() -> None:
    p = policy()
    for channel in ("post", "email", "phone", "messaging"):
        purpose = p.purpose(f"marketing_{channel}")
        assert purpose.is_marketing and not purpose.objection_override_allowed
        topic = p.consent_topics_by_id[purpose.consent_topic or ""]
        assert topic.channel == channel
    assert p.purpose("profiling").consent_topic == "profiling"


def test_retention_rules_of_the_notice() -> None:
    p = policy()
    by_id = {r.id: r for r in p.retention}
    contract = by_id["contract_after_end"]
    assert (contract.anchor, contract.years) == (RetentionAnchor.CONTRACT_END, 1)
    fin = by_id["financial_ten_years"]
    assert (fin.anchor, fin.years, fin.action) == (
        RetentionAnchor.TRANSACTION_DATE,
        10,
        ExpiryAction.DELETE,
    )
    for cat in p.purpose("contract_performance").categories:
        rules = [r for r in p.retention_rules_for(cat) if r.purpose == "contract_performance"]
        assert [(r.anchor, r.weeks) for r in rules] == [(RetentionAnchor.COLLECTED, 4)], cat
    for cat in ("vehicle_general", "maintenance_service", "vehicle_status"):
        anchors = {
            r.anchor for r in p.retention_rules_for(cat) if r.purpose == "after_sales_service"
        }
        assert anchors == {RetentionAnchor.VEHICLE_END_OF_LIFE}
    for cat in p.categories:
        assert p.retention_rules_for(cat.id), f"{cat.id} has no retention rule"


def test_rights_deadline_contact_and_authority() -> None:
    p = policy()
    assert {r.right for r in p.rights} == set(Right)
    assert (p.deadline.months, p.deadline.extension_months) == (1, 2)
    assert p.contact.email == "uwprivacy@mini.nl" and p.contact.phone == "0800-0992235"
    assert p.contact.hours is not None
    assert p.complaint_authority.name == "Autoriteit Persoonsgegevens"
    assert "Bezuidenhoutseweg 30" in p.complaint_authority.address
    assert len(p.security_measures) == 5
    assert p.automated_processing and p.transfers_statement and p.settings_statement
    assert p.retention_statement and p.request_limits


def test_every_entry_cites_its_section() -> None:
    p = policy()
    known = set(p.sections_by_id)
    assert known >= SECTIONS
    entries = [*p.categories, *p.purposes, *p.recipients, *p.retention, *p.consent_topics]
    for entry in [*entries, *p.controllers, *p.data_subjects]:
        assert entry.section in known, entry.id
    assert all(purpose.section in SECTIONS for purpose in p.purposes)


def test_every_catalogue_signal_is_a_field_of_its_category() -> None:
    """The signal catalogue (ingestion) and the policy agree: field minimisation (P6) can map
    every stored signal to a policy field, and no signal lands in a category it is not declared in.
    """
    import yaml

    catalogue = ROOT / "src" / "carprivacy" / "data" / "signals.yaml"
    if not catalogue.exists():
        pytest.skip("no signal catalogue yet")
    signals = yaml.safe_load(catalogue.read_text(encoding="utf-8"))["signals"]
    declared = {(c.id, f.vss_signal) for c in policy().categories for f in c.fields}
    missing = [
        (s["category"], s["name"]) for s in signals if (s["category"], s["name"]) not in declared
    ]
    assert missing == []


def test_the_packaged_fideslang_ids_are_the_taxonomy() -> None:
    from carprivacy.adapters.policy import fideslang

    assert fides_ids("data_category") == fideslang.DATA_CATEGORIES
    assert fides_ids("data_use") == fideslang.DATA_USES
    assert fides_ids("data_subject") == fideslang.DATA_SUBJECTS
    assert fideslang.check_fides(policy()) == []
