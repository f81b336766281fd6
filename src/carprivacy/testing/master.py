"""In-memory fakes of the master data ports (services/master/ports.py).

``InMemoryMasterData`` is the store; ``InMemoryMasterDataUnitOfWork(store)`` is a transaction over
it: leaving the ``with`` block without ``commit()`` restores the store as it was.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Generic, Protocol, Self, TypeVar

from carprivacy.domain.decision_facts import FactsSnapshot
from carprivacy.domain.master import (
    Account,
    Contract,
    Customer,
    EntityRef,
    Fleet,
    PaymentTransaction,
    Vehicle,
    VehicleUsage,
)
from carprivacy.testing.subject_state import InMemorySubjectStateRepository


class _Entity(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def created_at(self) -> datetime: ...


E = TypeVar("E", bound=_Entity)


class InMemoryEntityRepository(Generic[E]):
    def __init__(self, rows: dict[str, E]) -> None:
        self.rows = rows

    def add(self, entity: E) -> None:
        if entity.id in self.rows:
            raise KeyError(f"duplicate id {entity.id}")
        self.rows[entity.id] = entity

    def get(self, entity_id: str) -> E | None:
        return self.rows.get(entity_id)

    def update(self, entity: E) -> None:
        if entity.id not in self.rows:
            raise KeyError(f"unknown id {entity.id}")
        self.rows[entity.id] = entity

    def _ordered(self) -> list[E]:
        return sorted(self.rows.values(), key=lambda e: (e.created_at, e.id))

    def page(self, offset: int, limit: int) -> list[E]:
        return self._ordered()[offset : offset + limit]

    def count(self) -> int:
        return len(self.rows)

    def refs(self) -> list[EntityRef]:
        out = []
        for e in self._ordered():
            subject = getattr(e, "customer_id", e.id if isinstance(e, Customer) else None)
            vehicle = getattr(e, "vehicle_id", e.id if isinstance(e, Vehicle) else None)
            out.append(EntityRef(e.id, subject, vehicle))
        return out

    def get_many(self, ids: Sequence[str]) -> list[E]:
        return [self.rows[i] for i in ids if i in self.rows]


class InMemoryCustomerRepository(InMemoryEntityRepository[Customer]):
    pass


class InMemoryFleetRepository(InMemoryEntityRepository[Fleet]):
    pass


class InMemoryVehicleRepository(InMemoryEntityRepository[Vehicle]):
    def get_by_vin(self, vin: str) -> Vehicle | None:
        return next((v for v in self.rows.values() if v.vin == vin), None)


class InMemoryContractRepository(InMemoryEntityRepository[Contract]):
    def for_customer(self, customer_id: str) -> list[Contract]:
        return [c for c in self._ordered() if c.customer_id == customer_id]


class InMemoryPaymentRepository(InMemoryEntityRepository[PaymentTransaction]):
    def for_customer(self, customer_id: str) -> list[PaymentTransaction]:
        return [p for p in self._ordered() if p.customer_id == customer_id]


class InMemoryAccountRepository(InMemoryEntityRepository[Account]):
    def for_customer(self, customer_id: str) -> list[Account]:
        return [a for a in self._ordered() if a.customer_id == customer_id]

    def delete(self, account_id: str) -> None:
        self.rows.pop(account_id, None)


class InMemoryUsageRepository(InMemoryEntityRepository[VehicleUsage]):
    def for_vehicle(self, vehicle_id: str) -> list[VehicleUsage]:
        return sorted(
            (u for u in self.rows.values() if u.vehicle_id == vehicle_id),
            key=lambda u: (u.start, u.id),
        )

    def for_customer(self, customer_id: str) -> list[VehicleUsage]:
        return sorted(
            (u for u in self.rows.values() if u.customer_id == customer_id),
            key=lambda u: (u.start, u.id),
        )


@dataclass
class InMemoryMasterData:
    customers: dict[str, Customer] = field(default_factory=dict)
    accounts: dict[str, Account] = field(default_factory=dict)
    fleets: dict[str, Fleet] = field(default_factory=dict)
    vehicles: dict[str, Vehicle] = field(default_factory=dict)
    usages: dict[str, VehicleUsage] = field(default_factory=dict)
    contracts: dict[str, Contract] = field(default_factory=dict)
    payments: dict[str, PaymentTransaction] = field(default_factory=dict)


class InMemoryMasterDataUnitOfWork:
    def __init__(
        self, store: InMemoryMasterData, state: InMemorySubjectStateRepository | None = None
    ) -> None:
        self._store = store
        self._state = state or InMemorySubjectStateRepository()
        self._snapshot: InMemoryMasterData | None = None
        self.commits = 0
        self.customers = InMemoryCustomerRepository(store.customers)
        self.accounts = InMemoryAccountRepository(store.accounts)
        self.fleets = InMemoryFleetRepository(store.fleets)
        self.vehicles = InMemoryVehicleRepository(store.vehicles)
        self.usages = InMemoryUsageRepository(store.usages)
        self.contracts = InMemoryContractRepository(store.contracts)
        self.payments = InMemoryPaymentRepository(store.payments)

    def __enter__(self) -> Self:
        self._snapshot = copy.copy(self._store)
        for name in vars(self._store):
            setattr(self._snapshot, name, dict(getattr(self._store, name)))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._snapshot is not None:
            # Not committed: put every dict back as it was (in place: repositories hold them).
            for name in vars(self._store):
                live = getattr(self._store, name)
                live.clear()
                live.update(getattr(self._snapshot, name))
        self._snapshot = None

    def snapshot(
        self, subject_ids: Collection[str], vehicle_ids: Collection[str], *, countries: bool = True
    ) -> FactsSnapshot:
        """The decision facts of this store and the subject state, as they are now."""
        from carprivacy.testing.decision_facts import InMemoryDecisionFacts

        facts = InMemoryDecisionFacts(self._state, self._store)
        return facts.snapshot(subject_ids, vehicle_ids, countries=countries)

    def commit(self) -> None:
        self.commits += 1
        if self._snapshot is not None:
            for name in vars(self._store):
                setattr(self._snapshot, name, dict(getattr(self._store, name)))
