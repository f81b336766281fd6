"""Ports of the master data store (SPEC I4): one repository per entity, grouped in a unit of work
so that a use case writes everything or nothing."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from types import TracebackType
from typing import Protocol, Self, TypeVar

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

T = TypeVar("T")


class EntityRepository(Protocol[T]):
    def add(self, entity: T) -> None: ...

    def get(self, entity_id: str) -> T | None: ...

    def update(self, entity: T) -> None: ...

    def page(self, offset: int, limit: int) -> list[T]:
        """Entities in creation order (then id), ``limit`` of them from ``offset``."""
        ...

    def count(self) -> int: ...

    def refs(self) -> list[EntityRef]:
        """Every row's id and whom it is about, in page order, without its content."""
        ...

    def get_many(self, ids: Sequence[str]) -> list[T]:
        """The rows of ``ids`` that exist, in the order of ``ids``."""
        ...


class CustomerRepository(EntityRepository[Customer], Protocol): ...


class FleetRepository(EntityRepository[Fleet], Protocol): ...


class VehicleRepository(EntityRepository[Vehicle], Protocol):
    def get_by_vin(self, vin: str) -> Vehicle | None: ...


class ContractRepository(EntityRepository[Contract], Protocol):
    def for_customer(self, customer_id: str) -> list[Contract]: ...


class PaymentRepository(EntityRepository[PaymentTransaction], Protocol):
    def for_customer(self, customer_id: str) -> list[PaymentTransaction]: ...


class AccountRepository(Protocol):
    def add(self, account: Account) -> None: ...

    def get(self, account_id: str) -> Account | None: ...

    def for_customer(self, customer_id: str) -> list[Account]: ...

    def delete(self, account_id: str) -> None: ...


class UsageRepository(Protocol):
    def add(self, usage: VehicleUsage) -> None: ...

    def update(self, usage: VehicleUsage) -> None: ...

    def for_vehicle(self, vehicle_id: str) -> list[VehicleUsage]:
        """The vehicle's periods, oldest first."""
        ...

    def for_customer(self, customer_id: str) -> list[VehicleUsage]:
        """The customer's owner and driver periods, oldest first."""
        ...


class MasterDataUnitOfWork(Protocol):
    """A transaction over the master data: leaving the ``with`` block without ``commit()`` undoes
    every write of the block."""

    @property
    def customers(self) -> CustomerRepository: ...

    @property
    def accounts(self) -> AccountRepository: ...

    @property
    def fleets(self) -> FleetRepository: ...

    @property
    def vehicles(self) -> VehicleRepository: ...

    @property
    def usages(self) -> UsageRepository: ...

    @property
    def contracts(self) -> ContractRepository: ...

    @property
    def payments(self) -> PaymentRepository: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...

    def snapshot(
        self, subject_ids: Collection[str], vehicle_ids: Collection[str], *, countries: bool = True
    ) -> FactsSnapshot:
        """The decision facts of these subjects and vehicles, read in this transaction."""
        ...
