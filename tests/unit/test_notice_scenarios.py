"""Scenarios straight from the notice, through the decision service, the
subject state service and the disclosure, each printing the deciding reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from carprivacy.domain.access import Caller, CallerKind, Decision, DecisionRequest, Outcome, Role
from carprivacy.domain.errors import AccessDeniedError
from carprivacy.domain.policy import Form, Policy
from carprivacy.domain.policy_rules import validate
from carprivacy.domain.subject_state import ContractCover, RestrictionCase, UsagePeriod
from carprivacy.services.access.decisions import DecisionService
from carprivacy.services.access.disclosure import Disclosure
from carprivacy.services.consent.subject_state import SubjectStateService
from carprivacy.testing.audit import InMemoryAuditTrail
from carprivacy.testing.decision_facts import InMemoryDecisionFacts
from carprivacy.testing.decision_policy import (
    sample_policy,
    third_country_recipient,
    with_adequacy_suppliers,
)
from carprivacy.testing.subject_state import InMemoryMasterFacts, InMemorySubjectStateRepository

T0 = datetime(2025, 1, 1, tzinfo=UTC)
NOW = datetime(2025, 6, 1, 12, 34, 56, tzinfo=UTC)
SECRET = b"0123456789abcdef0123456789abcdef"
VIN = "WMW11111111111111"

ANALYST = Caller("analyst", CallerKind.PERSON, Role.RND_ANALYST, "mini_ag_staff")
CATENA = Caller("cx", CallerKind.MACHINE, Role.PARTNER, "catena_x_partners")
DEALER = Caller("dealer", CallerKind.PERSON, Role.DEALER, "dealers")
CRM = Caller("crm", CallerKind.MACHINE, Role.SERVICE, "bmw_nl")
AGENT = Caller("agent", CallerKind.PERSON, Role.CUSTOMER_SERVICE, "mini_nl_staff")
GEOCODER = Caller("geo", CallerKind.MACHINE, Role.PARTNER, "google_geocoding")


class World:
    def __init__(self, policy: Policy | None = None) -> None:
        self.policy = policy or sample_policy()
        self.repo = InMemorySubjectStateRepository()
        self.master = InMemoryMasterFacts(
            contracts=[ContractCover("k1", "s1", T0, vehicle_id="v1")],
            usage=[UsagePeriod("v1", "s1", T0)],
            countries={"s1": "NL"},
        )
        self.audit = InMemoryAuditTrail()
        self.decisions = DecisionService(
            self.policy, InMemoryDecisionFacts(self.repo, self.master), self.audit
        )
        self.state = SubjectStateService(self.policy, self.repo)
        self.disclosure = Disclosure(self.policy, SECRET)

    def ask(
        self, caller: Caller, purpose: str, *cats: str, at: datetime = NOW, **kw: str
    ) -> Decision:
        kw.setdefault("subject_id", "s1")
        d = self.decisions.decide(DecisionRequest(caller, purpose, cats, at, **kw))  # type: ignore[arg-type]
        print(f"{caller.organisation}/{caller.role.value} {purpose} {cats}: {d.outcome.value}")
        for r in d.reasons:
            print("   ", r)
        return d


POSITION_ROWS = [
    {"vin": VIN, "time": NOW, "latitude": 52.045678, "longitude": 4.312345, "speed": 48.0},
    {
        "vin": VIN,
        "time": NOW + timedelta(minutes=5),
        "latitude": 52.1,
        "longitude": 4.4,
        "speed": 0.0,
    },
]
MAINTENANCE_ROWS = [
    {
        "vin": VIN,
        "customer_id": "s1",
        "next_service": "2026-01",
        "oil_level": 0.8,
        "brake_wear": 0.2,
    },
]


def test_rnd_gets_only_pseudonyms() -> None:
    w = World()
    d = w.ask(ANALYST, "product_development", "position")
    assert d.outcome is Outcome.ALLOW and d.form is Form.PSEUDONYMISED
    rows = w.disclosure.apply(d, "position", POSITION_ROWS, recipient="mini_ag_staff", at=NOW)
    print(rows[0])
    assert all(str(r["vin"]).startswith("ps_") and VIN not in str(r) for r in rows)
    assert rows[0]["time"] == datetime(2025, 6, 1, 12, tzinfo=UTC)  # to the hour
    assert rows[0]["latitude"] == 52.05 and rows[0]["longitude"] == 4.31
    partner = w.disclosure.apply(
        w.ask(CATENA, "product_development", "position"),
        "position",
        POSITION_ROWS,
        recipient="catena_x_partners",
        at=NOW,
    )
    assert partner[0]["vin"] != rows[0]["vin"], "recipients must not be able to join pseudonyms"
    assert rows[0]["vin"] == rows[1]["vin"], "a pseudonym is stable for one recipient"


def test_dealers_get_only_vehicle_linked_data() -> None:
    w = World()
    d = w.ask(DEALER, "after_sales_service", "maintenance", vehicle_id="v1")
    assert d.outcome is Outcome.ALLOW and d.form is Form.VEHICLE_LINKED
    rows = w.disclosure.apply(d, "maintenance", MAINTENANCE_ROWS, recipient="dealers", at=NOW)
    assert rows == [{"vin": VIN, "next_service": "2026-01", "oil_level": 0.8, "brake_wear": 0.2}]
    denied = w.ask(DEALER, "after_sales_service", "contact_data")
    assert denied.rule == "category.not_allowed"
    report = w.ask(DEALER, "dealer_reports", "vehicle_status")
    assert report.form is Form.AGGREGATED_ANONYMOUS
    with pytest.raises(AccessDeniedError):
        w.disclosure.apply(report, "vehicle_status", [{"vin": VIN}], recipient="dealers", at=NOW)


def test_marketing_without_consent_is_denied_and_withdrawal_stops_it() -> None:
    w = World()
    assert w.ask(CRM, "marketing_email", "contact_data").rule == "consent.required"
    w.state.give("s1", "marketing_email", at=NOW - timedelta(days=1), by="s1", channel="portal")
    assert w.ask(CRM, "marketing_email", "contact_data").outcome is Outcome.ALLOW
    w.state.withdraw("s1", "marketing_email", at=NOW, by="s1", channel="app")
    assert w.ask(CRM, "marketing_email", "contact_data").rule == "consent.withdrawn"
    before = w.ask(CRM, "marketing_email", "contact_data", at=NOW - timedelta(seconds=1))
    assert before.outcome is Outcome.ALLOW  # withdrawal acts from its moment, not backwards
    assert [d.outcome for d in w.audit.decisions].count(Outcome.DENY) == 2


def test_objection_stops_legitimate_interest_use() -> None:
    w = World()
    assert w.ask(DEALER, "after_sales_service", "maintenance").outcome is Outcome.ALLOW
    w.state.object(
        "s1",
        at=NOW - timedelta(hours=1),
        by="s1",
        purpose="after_sales_service",
        grounds="my situation",
    )
    assert w.ask(DEALER, "after_sales_service", "maintenance").rule == "objection.art21"
    assert w.ask(ANALYST, "product_development", "position").outcome is Outcome.ALLOW
    w.state.object("s1", at=NOW - timedelta(hours=1), by="s1", marketing=True)
    assert w.ask(CRM, "market_research", "contact_data").rule == "objection.marketing"


def test_restricted_data_is_not_used() -> None:
    w = World()
    w.state.restrict(
        "s1", RestrictionCase.ACCURACY_CONTESTED, at=T0, by="dpo", categories=("contact_data",)
    )
    assert w.ask(AGENT, "customer_service", "contact_data").rule == "restriction.art18"
    officer = Caller("dpo", CallerKind.PERSON, Role.PRIVACY_OFFICER, "mini_nl_staff")
    assert w.ask(officer, "legal_claims", "contact_data").outcome is Outcome.ALLOW


def test_expired_data_is_never_returned() -> None:
    w = World()
    past = (NOW - timedelta(days=1)).isoformat()
    d = w.ask(DEALER, "after_sales_service", "maintenance", extra={"expires_at": past})  # type: ignore[arg-type]
    assert d.rule == "retention.expired"
    ok = w.ask(DEALER, "after_sales_service", "maintenance")
    rows = [
        dict(MAINTENANCE_ROWS[0], expires_at=NOW - timedelta(seconds=1)),
        dict(MAINTENANCE_ROWS[0], expires_at=NOW + timedelta(days=30), oil_level=0.5),
    ]
    released = w.disclosure.apply(ok, "maintenance", rows, recipient="dealers", at=NOW)
    assert [r["oil_level"] for r in released] == [0.5]
    assert all("expires_at" not in r for r in released)


def test_third_country_recipient_without_safeguards_is_refused() -> None:
    w = World()
    allowed = w.ask(GEOCODER, "geocoding", "contact_data")
    assert allowed.outcome is Outcome.ALLOW
    assert allowed.fields == {"contact_data": ("street", "house_number", "postal_code", "country")}
    unsafe = World(third_country_recipient(sample_policy(), "google_geocoding"))
    d = unsafe.ask(GEOCODER, "geocoding", "contact_data")
    assert d.rule == "transfer.no_mechanism" and "Art. 44" in d.reasons[0].article


# -- the same scenarios on the shipped policy (policies/mini-connected-nl.yaml) -------------------


@pytest.fixture(scope="module")
def shipped() -> Policy:
    from carprivacy.adapters.policy.loader import load_policy_file
    from carprivacy.config import default_policy_path

    return load_policy_file(default_policy_path())


def test_shipped_policy_scenarios(shipped: Policy) -> None:
    w = World(shipped)
    rnd = Caller("rnd", CallerKind.PERSON, Role.RND_ANALYST, "mini_ag_staff")
    d = w.ask(rnd, "product_development", "position_movement")
    assert d.outcome is Outcome.ALLOW and d.form is Form.PSEUDONYMISED
    rows = [{"vin": VIN, "timestamp": NOW, "latitude": 52.045678, "longitude": 4.312345}]
    out = w.disclosure.apply(d, "position_movement", rows, recipient="mini_ag_staff", at=NOW)
    assert str(out[0]["vin"]).startswith("ps_") and out[0]["latitude"] == 52.05
    assert out[0]["timestamp"] == datetime(2025, 6, 1, 12, tzinfo=UTC)

    dealer = w.ask(DEALER, "after_sales_service", "maintenance_service", vehicle_id="v1")
    assert dealer.form is Form.VEHICLE_LINKED and dealer.fields is not None
    assert "vin" in dealer.fields["maintenance_service"]
    assert w.ask(DEALER, "after_sales_service", "contact").rule == "category.not_allowed"

    crm = Caller("crm", CallerKind.MACHINE, Role.SERVICE, "mini_nl")
    assert w.ask(crm, "marketing_email", "contact").rule == "consent.required"
    w.state.give("s1", "marketing_email", at=T0, by="s1", channel="portal")
    assert w.ask(crm, "marketing_email", "contact").outcome is Outcome.ALLOW

    w.state.object("s1", at=T0, by="s1", purpose="after_sales_service")
    assert w.ask(DEALER, "after_sales_service", "vehicle_status").rule == "objection.art21"

    w.state.restrict(
        "s1", RestrictionCase.UNLAWFUL_PROCESSING, at=T0, by="dpo", categories=("contact",)
    )
    agent = Caller("agent", CallerKind.PERSON, Role.CUSTOMER_SERVICE, "mini_nl_staff")
    assert w.ask(agent, "customer_service", "contact").rule == "restriction.art18"
    officer = Caller("dpo", CallerKind.PERSON, Role.PRIVACY_OFFICER, "mini_nl_staff")
    assert w.ask(officer, "legal_claims", "contact").outcome is Outcome.ALLOW

    past = {"expires_at": (NOW - timedelta(days=1)).isoformat()}
    assert w.ask(rnd, "product_development", "vehicle_status", extra=past).rule == (  # type: ignore[arg-type]
        "retention.expired"
    )

    # the notice names no Canadian supplier: a test policy adds one (adequacy, Art. 45)
    with_canada = with_adequacy_suppliers(shipped)
    assert validate(with_canada) == []
    canada = Caller("ca", CallerKind.MACHINE, Role.PARTNER, "it_service_provider_canada")
    adequate = World(with_canada)
    assert adequate.ask(canada, "contract_performance", "vehicle_status", vehicle_id="v1").allowed
    assert w.ask(canada, "contract_performance", "vehicle_status", vehicle_id="v1").rule == (
        "caller.not_recipient"
    )
    unsafe = World(third_country_recipient(with_canada, "it_service_provider_canada", "CA"))
    refused = unsafe.ask(canada, "contract_performance", "vehicle_status", vehicle_id="v1")
    assert refused.rule == "transfer.no_mechanism"
