"""SQL repositories of the master data (SQLite and PostgreSQL) and their unit of work.

Sensitive columns (contact data, login id, payment method details) pass through the FieldCipher
port: encrypted under "subject:<customer id>" with ``<table>/<column>/<row id>`` as associated data,
so a ciphertext copied to another row or column does not decrypt.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

from sqlalchemy import ColumnElement, Connection, Engine, Row, String, Table, func, literal, select
from sqlalchemy.exc import IntegrityError

from carprivacy.adapters.db.id_sets import among
from carprivacy.adapters.db.repositories.decision_facts import SqlDecisionFacts
from carprivacy.adapters.db.repositories.sealing import (
    FieldSealer,
    from_db_time,
    opt_from_db_time,
    opt_to_db_time,
    to_db_time,
)
from carprivacy.adapters.db.tables.master import (
    accounts,
    contracts,
    customers,
    fleets,
    payment_transactions,
    vehicle_usages,
    vehicles,
)
from carprivacy.domain.decision_facts import FactsSnapshot
from carprivacy.domain.errors import ConflictError, KeyDestroyedError
from carprivacy.domain.master import (
    CONTACT_FIELDS,
    Account,
    AccountKind,
    ContactDetails,
    Contract,
    Customer,
    EntityRef,
    Fleet,
    PaymentMethod,
    PaymentMethodKind,
    PaymentTransaction,
    UsageKind,
    Vehicle,
    VehicleUsage,
)
from carprivacy.services.ports.crypto import FieldCipher

E = TypeVar("E")


class SqlEntityRepository(Generic[E]):
    """Shared plumbing: insert, update by id, get by id, page in creation order, count."""

    table: Table

    def __init__(self, conn: Connection, sealer: FieldSealer) -> None:
        self._conn = conn
        self._sealer = sealer

    def _to_row(self, entity: E) -> dict[str, Any]:
        raise NotImplementedError

    def _from_row(self, row: Row[Any]) -> E:
        raise NotImplementedError

    def _insert(self, values: Mapping[str, Any]) -> None:
        try:
            self._conn.execute(self.table.insert().values(**values))
        except IntegrityError as exc:  # the unit of work rolls back as the error leaves it
            raise ConflictError(
                f"the new {self.table.name} row contradicts a uniqueness or reference rule"
            ) from exc

    def add(self, entity: E) -> None:
        self._insert(self._to_row(entity))

    def update(self, entity: E) -> None:
        values = self._to_row(entity)
        row_id = values.pop("id")
        self._conn.execute(self.table.update().where(self.table.c.id == row_id).values(**values))

    def get(self, entity_id: str) -> E | None:
        row = self._conn.execute(select(self.table).where(self.table.c.id == entity_id)).first()
        return None if row is None else self._from_row(row)

    def _where(self, *conditions: Any) -> list[E]:
        query = select(self.table).where(*conditions)
        query = query.order_by(self.table.c.created_at, self.table.c.id)
        return [self._from_row(r) for r in self._conn.execute(query)]

    def page(self, offset: int, limit: int) -> list[E]:
        query = (
            select(self.table)
            .order_by(self.table.c.created_at, self.table.c.id)
            .offset(offset)
            .limit(limit)
        )
        return [self._from_row(r) for r in self._conn.execute(query)]

    def count(self) -> int:
        return int(self._conn.execute(select(func.count()).select_from(self.table)).scalar_one())

    def refs(self) -> list[EntityRef]:
        """Every row's id and whom it is about, in page order, without opening sealed columns."""
        c = self.table.c
        none = literal(None, String)
        subject: ColumnElement[Any] = c.customer_id if "customer_id" in c else none
        vehicle: ColumnElement[Any] = c.vehicle_id if "vehicle_id" in c else none
        if self.table is customers:
            subject = c.id
        if self.table is vehicles:
            vehicle = c.id
        query = select(c.id, subject, vehicle).order_by(c.created_at, c.id)
        return [EntityRef(r[0], r[1], r[2]) for r in self._conn.execute(query)]

    def get_many(self, ids: Sequence[str]) -> list[E]:
        """The rows of ``ids`` that exist, in the order of ``ids``."""
        if not ids:
            return []
        query = select(self.table).where(among(self._conn.dialect.name, self.table.c.id, ids))
        found = {row._mapping["id"]: self._from_row(row) for row in self._conn.execute(query)}
        return [found[i] for i in ids if i in found]


class SqlCustomerRepository(SqlEntityRepository[Customer]):
    table = customers

    def _to_row(self, entity: Customer) -> dict[str, Any]:
        row: dict[str, Any] = {
            name: self._sealer.seal(
                entity.id, "customers", name, entity.id, getattr(entity.contact, name)
            )
            for name in CONTACT_FIELDS
        }
        row.update(
            id=entity.id,
            created_at=to_db_time(entity.created_at),
            updated_at=to_db_time(entity.updated_at),
        )
        return row

    def _from_row(self, row: Row[Any]) -> Customer:
        m = row._mapping
        contact: ContactDetails | None
        try:
            plain = {
                name: self._sealer.open(m["id"], "customers", name, m["id"], m[name])
                for name in CONTACT_FIELDS
            }
            contact = ContactDetails(**plain)  # type: ignore[arg-type]
        except KeyDestroyedError:
            contact = None  # erased by crypto-shredding: the row stays, its content is gone
        return Customer(
            id=m["id"],
            contact=contact,
            created_at=from_db_time(m["created_at"]),
            updated_at=from_db_time(m["updated_at"]),
        )


class SqlAccountRepository(SqlEntityRepository[Account]):
    table = accounts

    def _to_row(self, entity: Account) -> dict[str, Any]:
        return {
            "id": entity.id,
            "customer_id": entity.customer_id,
            "controller": entity.controller,
            "kind": entity.kind.value,
            "login_id": self._sealer.seal(
                entity.customer_id, "accounts", "login_id", entity.id, entity.login_id
            ),
            "created_at": to_db_time(entity.created_at),
        }

    def _from_row(self, row: Row[Any]) -> Account:
        m = row._mapping
        try:
            login_id = self._sealer.open(
                m["customer_id"], "accounts", "login_id", m["id"], m["login_id"]
            )
        except KeyDestroyedError:
            login_id = None
        return Account(
            id=m["id"],
            customer_id=m["customer_id"],
            controller=m["controller"],
            kind=AccountKind(m["kind"]),
            login_id=login_id,
            created_at=from_db_time(m["created_at"]),
        )

    def for_customer(self, customer_id: str) -> list[Account]:
        return self._where(accounts.c.customer_id == customer_id)

    def delete(self, account_id: str) -> None:
        self._conn.execute(accounts.delete().where(accounts.c.id == account_id))


class SqlFleetRepository(SqlEntityRepository[Fleet]):
    table = fleets

    def _to_row(self, entity: Fleet) -> dict[str, Any]:
        return {
            "id": entity.id,
            "name": entity.name,
            "country": entity.country,
            "created_at": to_db_time(entity.created_at),
        }

    def _from_row(self, row: Row[Any]) -> Fleet:
        m = row._mapping
        return Fleet(m["id"], m["name"], m["country"], from_db_time(m["created_at"]))


class SqlVehicleRepository(SqlEntityRepository[Vehicle]):
    table = vehicles

    def _to_row(self, entity: Vehicle) -> dict[str, Any]:
        return {
            "id": entity.id,
            "vin": entity.vin,
            "model": entity.model,
            "colour": entity.colour,
            "equipment": list(entity.equipment),
            "end_of_life": entity.end_of_life,
            "created_at": to_db_time(entity.created_at),
            "updated_at": to_db_time(entity.updated_at),
        }

    def _from_row(self, row: Row[Any]) -> Vehicle:
        m = row._mapping
        end_of_life: date | None = m["end_of_life"]
        return Vehicle(
            id=m["id"],
            vin=m["vin"],
            model=m["model"],
            colour=m["colour"],
            equipment=tuple(m["equipment"]),
            end_of_life=end_of_life,
            created_at=from_db_time(m["created_at"]),
            updated_at=from_db_time(m["updated_at"]),
        )

    def get_by_vin(self, vin: str) -> Vehicle | None:
        found = self._where(vehicles.c.vin == vin)
        return found[0] if found else None


class SqlUsageRepository(SqlEntityRepository[VehicleUsage]):
    table = vehicle_usages

    def _to_row(self, entity: VehicleUsage) -> dict[str, Any]:
        return {
            "id": entity.id,
            "vehicle_id": entity.vehicle_id,
            "kind": entity.kind.value,
            "customer_id": entity.customer_id,
            "fleet_id": entity.fleet_id,
            "starts_at": to_db_time(entity.start),
            "ends_at": opt_to_db_time(entity.end),
            "created_at": to_db_time(entity.created_at),
        }

    def _from_row(self, row: Row[Any]) -> VehicleUsage:
        m = row._mapping
        return VehicleUsage(
            id=m["id"],
            vehicle_id=m["vehicle_id"],
            kind=UsageKind(m["kind"]),
            customer_id=m["customer_id"],
            fleet_id=m["fleet_id"],
            start=from_db_time(m["starts_at"]),
            end=opt_from_db_time(m["ends_at"]),
            created_at=from_db_time(m["created_at"]),
        )

    def for_vehicle(self, vehicle_id: str) -> list[VehicleUsage]:
        query = (
            select(vehicle_usages)
            .where(vehicle_usages.c.vehicle_id == vehicle_id)
            .order_by(vehicle_usages.c.starts_at, vehicle_usages.c.id)
        )
        return [self._from_row(r) for r in self._conn.execute(query)]

    def for_customer(self, customer_id: str) -> list[VehicleUsage]:
        query = (
            select(vehicle_usages)
            .where(vehicle_usages.c.customer_id == customer_id)
            .order_by(vehicle_usages.c.starts_at, vehicle_usages.c.id)
        )
        return [self._from_row(r) for r in self._conn.execute(query)]

    def for_vehicles(self, vehicle_ids: Sequence[str]) -> dict[str, list[VehicleUsage]]:
        """All periods of many vehicles in one query (for attribution during ingestion)."""
        found: dict[str, list[VehicleUsage]] = {v: [] for v in vehicle_ids}
        if not vehicle_ids:
            return found
        query = (
            select(vehicle_usages)
            .where(among(self._conn.dialect.name, vehicle_usages.c.vehicle_id, vehicle_ids))
            .order_by(vehicle_usages.c.starts_at, vehicle_usages.c.id)
        )
        for row in self._conn.execute(query):
            usage = self._from_row(row)
            found[usage.vehicle_id].append(usage)
        return found


class SqlContractRepository(SqlEntityRepository[Contract]):
    table = contracts

    def _to_row(self, entity: Contract) -> dict[str, Any]:
        return {
            "id": entity.id,
            "customer_id": entity.customer_id,
            "vehicle_id": entity.vehicle_id,
            "starts_at": to_db_time(entity.start),
            "ends_at": opt_to_db_time(entity.end),
            "services": list(entity.services),
            "created_at": to_db_time(entity.created_at),
            "updated_at": to_db_time(entity.updated_at),
        }

    def _from_row(self, row: Row[Any]) -> Contract:
        m = row._mapping
        return Contract(
            id=m["id"],
            customer_id=m["customer_id"],
            vehicle_id=m["vehicle_id"],
            start=from_db_time(m["starts_at"]),
            end=opt_from_db_time(m["ends_at"]),
            services=tuple(m["services"]),
            created_at=from_db_time(m["created_at"]),
            updated_at=from_db_time(m["updated_at"]),
        )

    def for_customer(self, customer_id: str) -> list[Contract]:
        return self._where(contracts.c.customer_id == customer_id)


class SqlPaymentRepository(SqlEntityRepository[PaymentTransaction]):
    table = payment_transactions

    def _to_row(self, entity: PaymentTransaction) -> dict[str, Any]:
        return {
            "id": entity.id,
            "customer_id": entity.customer_id,
            "contract_id": entity.contract_id,
            "amount_minor": entity.amount_minor,
            "currency": entity.currency,
            "booked_at": to_db_time(entity.booked_at),
            "method_kind": entity.method.kind.value,
            "method_details": self._sealer.seal(
                entity.customer_id,
                "payment_transactions",
                "method_details",
                entity.id,
                entity.method.details,
            ),
            "created_at": to_db_time(entity.created_at),
        }

    def _from_row(self, row: Row[Any]) -> PaymentTransaction:
        m = row._mapping
        try:
            details = self._sealer.open(
                m["customer_id"],
                "payment_transactions",
                "method_details",
                m["id"],
                m["method_details"],
            )
        except KeyDestroyedError:
            details = None
        return PaymentTransaction(
            id=m["id"],
            customer_id=m["customer_id"],
            contract_id=m["contract_id"],
            amount_minor=int(m["amount_minor"]),
            currency=m["currency"],
            booked_at=from_db_time(m["booked_at"]),
            method=PaymentMethod(PaymentMethodKind(m["method_kind"]), details),
            created_at=from_db_time(m["created_at"]),
        )

    def for_customer(self, customer_id: str) -> list[PaymentTransaction]:
        return self._where(payment_transactions.c.customer_id == customer_id)


class SqlMasterDataUnitOfWork:
    """One database transaction; ``commit()`` makes it durable, leaving without it rolls back."""

    customers: SqlCustomerRepository
    accounts: SqlAccountRepository
    fleets: SqlFleetRepository
    vehicles: SqlVehicleRepository
    usages: SqlUsageRepository
    contracts: SqlContractRepository
    payments: SqlPaymentRepository

    def __init__(self, engine: Engine, cipher: FieldCipher) -> None:
        self._engine = engine
        self._cipher = cipher
        self._sealer = FieldSealer(cipher)
        self._conn: Connection | None = None

    def __enter__(self) -> Self:
        conn = self._conn = self._engine.connect()
        conn.begin()
        self.customers = SqlCustomerRepository(conn, self._sealer)
        self.accounts = SqlAccountRepository(conn, self._sealer)
        self.fleets = SqlFleetRepository(conn, self._sealer)
        self.vehicles = SqlVehicleRepository(conn, self._sealer)
        self.usages = SqlUsageRepository(conn, self._sealer)
        self.contracts = SqlContractRepository(conn, self._sealer)
        self.payments = SqlPaymentRepository(conn, self._sealer)
        self._facts = SqlDecisionFacts(self._engine, self._cipher).on(conn)
        return self

    def snapshot(
        self, subject_ids: Collection[str], vehicle_ids: Collection[str], *, countries: bool = True
    ) -> FactsSnapshot:
        """The decision facts of these subjects and vehicles, read in this transaction."""
        return self._facts.snapshot(subject_ids, vehicle_ids, countries=countries)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._conn is not None:
            if self._conn.in_transaction():
                self._conn.rollback()
            self._conn.close()
            self._conn = None

    def commit(self) -> None:
        if self._conn is None:
            raise RuntimeError("commit() outside the unit of work")
        self._conn.commit()
        self._conn.begin()
