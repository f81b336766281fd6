"""The gate on fakes: forms, pseudonyms, reach, time, retention, counts (SPEC U1, U3, P3, P6, B2).

Each test names the defect of the read path it guards; no HTTP, no database.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from carprivacy.adapters.policy.loader import load_policy_file
from carprivacy.config import default_policy_path
from carprivacy.domain.access import Caller, CallerKind, Role
from carprivacy.domain.errors import AccessDeniedError, NotFoundError
from carprivacy.domain.master import (
    ContactDetails,
    Contract,
    Customer,
    Fleet,
    UsageKind,
    Vehicle,
    VehicleUsage,
)
from carprivacy.services.access.decisions import DecisionService
from carprivacy.services.access.gate import Gate, Reading, Record
from carprivacy.services.master import reads, views
from carprivacy.testing.audit import InMemoryAuditTrail
from carprivacy.testing.decision_facts import InMemoryDecisionFacts
from carprivacy.testing.master import InMemoryMasterData, InMemoryMasterDataUnitOfWork
from carprivacy.testing.subject_state import InMemorySubjectStateRepository

POLICY = load_policy_file(default_policy_path())
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
T0 = datetime(2024, 1, 1, tzinfo=UTC)
SECRET = b"s" * 32
VIN = "WMW11111111111111"


def person(role: Role, org: str, **kw: Any) -> Caller:
    return Caller(f"{role}-{org}", CallerKind.PERSON, role, org, **kw)


PARTNER = Caller("catena", CallerKind.MACHINE, Role.PARTNER, "catena_x_partners")
DEALER = person(Role.DEALER, "dealers")
OFFICER = person(Role.PRIVACY_OFFICER, "mini_nl")
DESK = person(Role.CUSTOMER_SERVICE, "mini_nl")
ANNA = person(Role.CUSTOMER, "mini_nl", subject_id="anna")
BOB = person(Role.CUSTOMER, "mini_nl", subject_id="bob")


class World:
    def __init__(self) -> None:
        self.store = InMemoryMasterData()
        self.state = InMemorySubjectStateRepository()
        self.audit = InMemoryAuditTrail()
        self.sessions = 0
        contact = ContactDetails("Jansen", "Anna", "Dorpsstraat", "1", "1234AB", "Utrecht", "NL")
        for cid in ("anna", "bob"):
            self.store.customers[cid] = Customer(cid, contact, T0, T0)
        self.store.vehicles["v1"] = Vehicle(
            "v1", VIN, "MINI Cooper", "Red", ("Navi",), date(2040, 1, 1), T0, T0
        )
        self.store.usages["u1"] = VehicleUsage(
            "u1", "v1", UsageKind.OWNER, "anna", None, T0, None, T0
        )
        self.store.contracts["k1"] = Contract("k1", "anna", "v1", T0, None, ("connected",), T0, T0)
        self.store.fleets["f1"] = Fleet("f1", "Athlon", "NL", T0)
        facts = InMemoryDecisionFacts(self.state, self.store)
        decisions = DecisionService(POLICY, facts, self.audit, lambda: NOW)
        self.gate = Gate(POLICY, decisions, self.session, SECRET, lambda: NOW)

    def session(self) -> InMemoryMasterDataUnitOfWork:
        self.sessions += 1
        return InMemoryMasterDataUnitOfWork(self.store, self.state)

    def vehicle(self, caller: Caller, purpose: str, **kw: Any) -> dict[str, object]:
        def load(s: InMemoryMasterDataUnitOfWork) -> Record:
            v = reads.vehicle(s, "v1")
            return Record(asdict(v), None, v.id)

        return self.gate.one(
            Reading(caller, purpose, **kw), views.VEHICLE_RECORD, load, vehicle_id="v1"
        )

    def usages(self, caller: Caller, purpose: str, vehicle: str = "v1") -> list[dict[str, object]]:
        def load(s: InMemoryMasterDataUnitOfWork) -> list[Record]:
            return [
                Record(asdict(u), u.customer_id, u.vehicle_id) for u in reads.usages_of(s, vehicle)
            ]

        return self.gate.of(Reading(caller, purpose), views.USAGE, load, vehicle_id=vehicle)


@pytest.fixture
def world() -> World:
    return World()


def test_one_recipient_sees_one_pseudonym_per_vehicle_on_every_route(world: World) -> None:
    vehicle = world.vehicle(PARTNER, "development_partners")
    (usage,) = world.usages(PARTNER, "development_partners")
    assert str(vehicle["id"]).startswith("ps_")
    assert vehicle["id"] == usage["vehicle_id"]  # was: namespaced by field name, so different
    other = world.gate.pseudonymiser("dealers").pseudonym("vehicle", "v1")
    assert other != vehicle["id"]  # per recipient: two recipients cannot join on it
    assert "customer_id" in usage and usage["customer_id"] != "anna"


def test_a_development_partner_gets_only_its_allowed_fields(world: World) -> None:
    vehicle = world.vehicle(PARTNER, "development_partners")
    assert "end_of_life" not in vehicle  # was released as metadata
    assert "vin" not in vehicle and vehicle["model"] == "MINI Cooper"
    staff = world.vehicle(OFFICER, "legal_claims")
    assert staff["end_of_life"] == date(2040, 1, 1) and staff["vin"] == VIN


def test_vehicle_linked_data_is_never_reached_through_a_customer(world: World) -> None:
    direct = world.vehicle(DEALER, "after_sales_service")
    assert direct["vin"] == VIN
    with pytest.raises(AccessDeniedError) as refused:
        world.gate.of(
            Reading(DEALER, "after_sales_service"),
            views.VEHICLE_RECORD,
            lambda s: [Record(asdict(v), "anna", v.id) for v in reads.vehicles_of(s, "anna", NOW)],
            subject_id="anna",
        )
    assert any("form.vehicle_linked" in r for r in refused.value.reasons)
    assert world.audit.records[-1][1].rule == "form.vehicle_linked"  # recorded


def test_vehicle_linked_usages_name_no_customer(world: World) -> None:
    (usage,) = world.usages(DEALER, "after_sales_service")
    assert usage["vehicle_id"] == "v1"
    assert not {"customer_id", "id", "fleet_id"} & set(usage)


def test_only_the_officer_or_legal_claims_decide_at_another_time(world: World) -> None:
    past = NOW - timedelta(days=30)
    with pytest.raises(AccessDeniedError) as refused:
        world.vehicle(DEALER, "after_sales_service", at=past)
    assert any("decision.time" in r for r in refused.value.reasons)
    assert world.audit.records[-1][1].rule == "decision.time"
    world.vehicle(OFFICER, "legal_claims", at=past)
    request, decision = world.audit.records[-1]
    assert decision.allowed and request.at == past and request.extra["time"] == "caller-set"
    world.vehicle(DEALER, "after_sales_service", at=NOW + timedelta(seconds=30))  # clock skew


def test_a_record_past_its_retention_is_never_released(world: World) -> None:
    def load(_: object) -> Record:
        return Record({"id": "v1", "model": "x", "expires_at": NOW - timedelta(days=1)}, None, "v1")

    with pytest.raises(AccessDeniedError) as refused:
        world.gate.one(Reading(OFFICER, "legal_claims"), views.VEHICLE_RECORD, load)
    assert any("retention.expired" in r for r in refused.value.reasons)


def test_fleet_reads_name_a_purpose_are_decided_and_audited(world: World) -> None:
    def index(s: InMemoryMasterDataUnitOfWork) -> Any:
        return s.fleets.refs()

    def load(s: InMemoryMasterDataUnitOfWork, ids: Any) -> Any:
        return [Record(asdict(f)) for f in s.fleets.get_many(ids)]

    before = len(world.audit.records)
    page = world.gate.page(Reading(OFFICER, "legal_claims"), views.FLEET, index, load, 0, 50)
    assert page.total == 1 and page.items[0]["name"] == "Athlon"
    assert len(world.audit.records) == before + 1
    page = world.gate.page(Reading(ANNA, "customer_service"), views.FLEET, index, load, 0, 50)
    assert page.total == 0 and page.items == []  # a customer token no longer lists every fleet


def test_anothers_vehicle_is_refused_exactly_as_an_unknown_one(world: World) -> None:
    with pytest.raises(AccessDeniedError) as other:
        world.usages(BOB, "customer_service")  # was 200 []
    with pytest.raises(AccessDeniedError) as unknown:
        world.usages(BOB, "customer_service", vehicle="no-such-vehicle")
    assert other.value.reasons == unknown.value.reasons
    assert world.usages(ANNA, "customer_service")  # her own


def test_an_unknown_record_is_404_only_for_a_caller_who_may_read_any(world: World) -> None:
    def load(s: InMemoryMasterDataUnitOfWork) -> Record:
        return Record(asdict(reads.customer(s, "nobody")), "nobody")

    with pytest.raises(NotFoundError):
        world.gate.one(Reading(OFFICER, "legal_claims"), views.CUSTOMER, load, subject_id="nobody")
    with pytest.raises(AccessDeniedError) as refused:
        world.gate.one(Reading(DESK, "customer_service"), views.CUSTOMER, load, subject_id="nobody")
    assert any("contract.required" in r for r in refused.value.reasons)  # as a known one


def test_a_list_counts_only_what_the_caller_may_see(world: World) -> None:
    def index(s: InMemoryMasterDataUnitOfWork) -> Any:
        return s.customers.refs()

    def load(s: InMemoryMasterDataUnitOfWork, ids: Any) -> Any:
        return [Record({"id": c.id, **asdict(c.contact)}, c.id) for c in s.customers.get_many(ids)]

    page = world.gate.page(Reading(DESK, "customer_service"), views.CUSTOMER, index, load, 0, 50)
    assert page.total == 1 and [i["id"] for i in page.items] == ["anna"]  # bob has no contract
    assert [d.rule for _, d in world.audit.records][-2:] == [
        "purpose.allowed",
        "contract.required",
    ]
    # U3: the page and the refusal of the rest are one read (one access), in one append
    assert [d.rule for _, d in world.audit.reads[-1]] == ["purpose.allowed", "contract.required"]


def test_one_read_is_one_session_and_one_audit_append(world: World) -> None:
    world.vehicle(OFFICER, "legal_claims")
    assert world.sessions == 1 and world.audit.transactions[-1] == 1
