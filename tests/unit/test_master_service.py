"""The master data use cases on the in-memory fakes (no I/O): all-or-nothing units of work and the
controller rules of P1."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from carprivacy.domain.errors import ConflictError, InvalidInputError
from carprivacy.domain.master import AccountKind, ContactDetails, Fleet, UsageKind
from carprivacy.services.master.service import MasterDataService
from carprivacy.testing.master import InMemoryMasterData, InMemoryMasterDataUnitOfWork

T0 = datetime(2025, 1, 1, tzinfo=UTC)
CONTACT = ContactDetails("Jansen", "Pieter", "Dorpsstraat", "3", "1234 AB", "Utrecht", "NL")


@pytest.fixture
def store() -> InMemoryMasterData:
    return InMemoryMasterData()


@pytest.fixture
def service(store: InMemoryMasterData) -> MasterDataService:
    ids = (f"id-{i:04d}" for i in range(10_000))
    return MasterDataService(
        lambda: InMemoryMasterDataUnitOfWork(store),
        lambda: T0,
        new_id=lambda: next(ids),
        controllers={"mini_ag": True, "mini_nl": False},
    )


def test_the_fake_unit_of_work_rolls_back_without_commit(store: InMemoryMasterData) -> None:
    uow = InMemoryMasterDataUnitOfWork(store)
    with uow:
        uow.fleets.add(Fleet("f", "F", "NL", T0))
    assert store.fleets == {}


def test_an_owner_change_that_fails_leaves_the_old_period_open(
    service: MasterDataService, store: InMemoryMasterData
) -> None:
    a = service.register_customer(CONTACT)
    v = service.register_vehicle("WMWXU31060T123456", "MINI Cooper", "Chili Red")
    service.add_usage(v.id, UsageKind.OWNER, T0, customer_id=a.id)
    with pytest.raises(InvalidInputError):
        service.add_usage(v.id, UsageKind.OWNER, T0 + timedelta(days=5), customer_id="ghost")
    assert [u.end for u in service.usages_of(v.id)] == [None]


def test_an_overlapping_fleet_period_is_a_conflict_and_writes_nothing(
    service: MasterDataService, store: InMemoryMasterData
) -> None:
    f1, f2 = service.create_fleet("Fleet A", "NL"), service.create_fleet("Fleet B", "BE")
    v = service.register_vehicle("WMWXU31060T123457", "MINI Cooper", "Chili Red")
    service.add_usage(v.id, UsageKind.FLEET, T0, end=T0 + timedelta(days=30), fleet_id=f1.id)
    with pytest.raises(ConflictError):
        service.add_usage(v.id, UsageKind.FLEET, T0 + timedelta(days=10), fleet_id=f2.id)
    assert len(store.usages) == 1
    moved = service.add_usage(v.id, UsageKind.FLEET, T0 + timedelta(days=30), fleet_id=f2.id)
    assert service.subject_for(v.id, T0 + timedelta(days=31)).fleet_id == moved.fleet_id


def test_accounts_are_checked_against_the_policy_controllers(service: MasterDataService) -> None:
    c = service.register_customer(CONTACT)
    with pytest.raises(InvalidInputError) as err:
        service.open_account(c.id, "acme", AccountKind.CUSTOMER, None)
    assert [(p.path, p.rule) for p in err.value.problems] == [("controller", "known_controller")]


def test_validation_happens_before_any_write(
    service: MasterDataService, store: InMemoryMasterData
) -> None:
    with pytest.raises(InvalidInputError) as err:
        service.register_vehicle("WMWXU31060T12345O", "", "Red", ["x" * 101])
    assert {p.path for p in err.value.problems} == {"vin", "model", "equipment.0"}
    with pytest.raises(InvalidInputError) as err:
        service.conclude_contract("c", "v", T0, ["ecall", "ecall", "teleportation"])
    assert {(p.path, p.rule) for p in err.value.problems} == {
        ("services.2", "known_service"),
        ("services", "unique"),
    }
    assert store.vehicles == {} and store.contracts == {}


def test_is_empty_reports_demo_state(service: MasterDataService) -> None:
    assert service.is_empty()
    service.register_customer(CONTACT)
    assert not service.is_empty()
