"""The demo data on the in-memory fakes: deterministic, valid, and showing an owner
change, a fleet with drivers, contracts with services and payments."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from carprivacy.domain.master import UsageKind, subject_for, validate_vin
from carprivacy.services.demo.master_data import load_demo
from carprivacy.services.master.service import MasterDataService
from carprivacy.testing.master import InMemoryMasterData, InMemoryMasterDataUnitOfWork

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _load(seed: int) -> InMemoryMasterData:
    store = InMemoryMasterData()
    ticks = itertools.count()
    svc = MasterDataService(
        lambda: InMemoryMasterDataUnitOfWork(store),
        lambda: datetime.fromtimestamp(1_700_000_000 + next(ticks), UTC),
        controllers={"mini_ag": True, "mini_nl": False},
    )
    summary = load_demo(svc, seed)
    assert summary.customers == len(store.customers) == 20
    assert summary.payments == len(store.payments) > 0
    return store


def _content(store: InMemoryMasterData) -> list[object]:
    people = sorted((c.contact for c in store.customers.values()), key=repr)
    cars = sorted((v.vin, v.model, v.colour, v.equipment) for v in store.vehicles.values())
    return [people, cars, sorted(p.amount_minor for p in store.payments.values())]


def test_the_same_seed_gives_the_same_demo_and_another_seed_another() -> None:
    assert _content(_load(7)) == _content(_load(7))
    assert _content(_load(7)) != _content(_load(8))


def test_the_demo_shows_an_owner_change_a_fleet_and_drivers() -> None:
    store = _load(2024)
    assert all(validate_vin(v.vin) == [] for v in store.vehicles.values())
    assert all(v.vin.startswith("WMW") for v in store.vehicles.values())
    by_vehicle: dict[str, list[object]] = {}
    for u in store.usages.values():
        by_vehicle.setdefault(u.vehicle_id, []).append(u)
    sold = [
        vid
        for vid, us in by_vehicle.items()
        if sum(1 for u in us if u.kind is UsageKind.OWNER) == 2  # type: ignore[attr-defined]
    ]
    assert len(sold) == 1
    before = subject_for(sold[0], store.usages.values(), datetime(2025, 6, 14, tzinfo=UTC))
    after = subject_for(sold[0], store.usages.values(), NOW)
    assert before.customer_id and after.customer_id and before.customer_id != after.customer_id
    fleet_cars = {u.vehicle_id for u in store.usages.values() if u.kind is UsageKind.FLEET}
    driven = {u.vehicle_id for u in store.usages.values() if u.kind is UsageKind.DRIVER}
    assert len(fleet_cars) == 5 and driven < fleet_cars and len(driven) == 2
    ended = [c for c in store.contracts.values() if c.end is not None]
    assert len(ended) == 1 and ended[0].vehicle_id == sold[0]
    assert all("ecall" in c.services for c in store.contracts.values())
    assert {a.controller for a in store.accounts.values()} == {"mini_ag", "mini_nl"}


def test_loading_the_demo_twice_adds_a_second_set_without_vin_clashes() -> None:
    store = InMemoryMasterData()
    svc = MasterDataService(lambda: InMemoryMasterDataUnitOfWork(store), lambda: NOW)
    load_demo(svc, 3)
    load_demo(svc, 3)
    vins = [v.vin for v in store.vehicles.values()]
    assert len(vins) == len(set(vins)) == 42
    assert all(len(v) == 17 and v[9] in "MNPRST" and v[10] in "T2" for v in vins)
