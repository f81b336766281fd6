"""Use cases of the master data store (SPEC I4, P1): register and change customers, vehicles,
fleets, contracts, payments and accounts; record owner changes and fleet membership; tell whose
data a vehicle produces at a moment.

Each use case is one unit of work: it validates everything first and writes nothing on error.
Ids in the request body that do not exist are input errors naming the field (422); ids in the path
that do not exist are :class:`NotFoundError` (404).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields, replace
from datetime import date, datetime

from carprivacy.domain.errors import ConflictError, NotFoundError, Problem
from carprivacy.domain.master import (
    Account,
    AccountKind,
    Attribution,
    ContactDetails,
    Contract,
    Customer,
    Fleet,
    PaymentMethod,
    PaymentTransaction,
    UsageKind,
    Vehicle,
    VehicleUsage,
    change_usage,
    raise_if,
    validate_account,
    validate_contact,
    validate_contract,
    validate_customer,
    validate_fleet,
    validate_payment,
    validate_usage,
    validate_vehicle,
)
from carprivacy.services.master import reads
from carprivacy.services.master.paging import MAX_PAGE as MAX_PAGE
from carprivacy.services.master.paging import Page as Page
from carprivacy.services.master.paging import page_of
from carprivacy.services.master.ports import MasterDataUnitOfWork

Clock = Callable[[], datetime]


def new_uuid() -> str:
    return str(uuid.uuid4())


def _checked_changes(
    changes: Mapping[str, object], allowed: Sequence[str]
) -> tuple[dict[str, object], list[Problem]]:
    unknown = [k for k in changes if k not in allowed]
    problems = [Problem(k, "unknown_field", "cannot be changed") for k in unknown]
    return {k: v for k, v in changes.items() if k in allowed}, problems


class MasterDataService:
    def __init__(
        self,
        uow: Callable[[], MasterDataUnitOfWork],
        clock: Clock,
        *,
        new_id: Callable[[], str] = new_uuid,
        controllers: Mapping[str, bool] | None = None,
    ) -> None:
        """``controllers`` maps the policy's controller ids to whether they own the group login
        account (P1); when given, accounts are checked against it."""
        self._uow = uow
        self._clock = clock
        self._new_id = new_id
        self._controllers = dict(controllers or {})

    # --- customers --------------------------------------------------------------------------

    def register_customer(self, contact: ContactDetails) -> Customer:
        now = self._clock()
        customer = Customer(self._new_id(), contact, now, now)
        raise_if(validate_customer(customer))
        with self._uow() as uow:
            uow.customers.add(customer)
            uow.commit()
        return customer

    def get_customer(self, customer_id: str) -> Customer:
        with self._uow() as uow:
            return self._customer(uow, customer_id)

    def update_customer(self, customer_id: str, changes: Mapping[str, object]) -> Customer:
        allowed = [f.name for f in fields(ContactDetails)]
        valid, problems = _checked_changes(changes, allowed)
        raise_if(problems)
        with self._uow() as uow:
            current = self._customer(uow, customer_id)
            if current.contact is None:
                raise ConflictError("the customer's contact data was erased")
            contact = replace(current.contact, **valid)  # type: ignore[arg-type]
            raise_if(validate_contact(contact))
            updated = replace(current, contact=contact, updated_at=self._clock())
            uow.customers.update(updated)
            uow.commit()
        return updated

    def list_customers(self, offset: int = 0, limit: int = 50) -> Page[Customer]:
        with self._uow() as uow:
            return page_of(uow.customers, offset, limit)

    # --- accounts (P1) ----------------------------------------------------------------------

    def open_account(
        self, customer_id: str, controller: str, kind: AccountKind, login_id: str | None
    ) -> Account:
        account = Account(self._new_id(), customer_id, controller, kind, login_id, self._clock())
        problems = validate_account(account)
        if self._controllers and controller not in self._controllers:
            problems.append(Problem("controller", "known_controller", "is not in the policy"))
        elif (
            self._controllers
            and kind is AccountKind.GROUP_LOGIN
            and not self._controllers[controller]
        ):
            problems.append(
                Problem("kind", "account_owner", "the group login account is the manufacturer's")
            )
        raise_if(problems)
        with self._uow() as uow:
            if self._customer(uow, customer_id).erased:
                raise ConflictError("the customer's data was erased")
            if any(
                a.controller == controller and a.kind is kind
                for a in uow.accounts.for_customer(customer_id)
            ):
                raise ConflictError(f"the customer already has a {kind} account at {controller}")
            uow.accounts.add(account)
            uow.commit()
        return account

    def accounts_of(self, customer_id: str) -> list[Account]:
        with self._uow() as uow:
            self._customer(uow, customer_id)
            return uow.accounts.for_customer(customer_id)

    def delete_account(self, account_id: str) -> None:
        """Deletes this one account; the customer and the other controllers' records stay (P1)."""
        with self._uow() as uow:
            if uow.accounts.get(account_id) is None:
                raise NotFoundError("account", account_id)
            uow.accounts.delete(account_id)
            uow.commit()

    # --- fleets -----------------------------------------------------------------------------

    def create_fleet(self, name: str, country: str) -> Fleet:
        fleet = Fleet(self._new_id(), name, country, self._clock())
        raise_if(validate_fleet(fleet))
        with self._uow() as uow:
            uow.fleets.add(fleet)
            uow.commit()
        return fleet

    def get_fleet(self, fleet_id: str) -> Fleet:
        with self._uow() as uow:
            fleet = uow.fleets.get(fleet_id)
        if fleet is None:
            raise NotFoundError("fleet", fleet_id)
        return fleet

    def list_fleets(self, offset: int = 0, limit: int = 50) -> Page[Fleet]:
        with self._uow() as uow:
            return page_of(uow.fleets, offset, limit)

    # --- vehicles and their usage periods (I4) -----------------------------------------------

    def register_vehicle(
        self,
        vin: str,
        model: str,
        colour: str,
        equipment: Sequence[str] = (),
        end_of_life: date | None = None,
    ) -> Vehicle:
        now = self._clock()
        vehicle = Vehicle(
            self._new_id(), vin, model, colour, tuple(equipment), end_of_life, now, now
        )
        raise_if(validate_vehicle(vehicle))
        with self._uow() as uow:
            if uow.vehicles.get_by_vin(vin) is not None:
                raise ConflictError("a vehicle with this VIN is already registered")
            uow.vehicles.add(vehicle)
            uow.commit()
        return vehicle

    def get_vehicle(self, vehicle_id: str) -> Vehicle:
        with self._uow() as uow:
            return self._vehicle(uow, vehicle_id)

    def find_vehicle_by_vin(self, vin: str) -> Vehicle | None:
        with self._uow() as uow:
            return uow.vehicles.get_by_vin(vin)

    def update_vehicle(self, vehicle_id: str, changes: Mapping[str, object]) -> Vehicle:
        valid, problems = _checked_changes(changes, ("model", "colour", "equipment", "end_of_life"))
        raise_if(problems)
        if isinstance(valid.get("equipment"), list):
            valid["equipment"] = tuple(valid["equipment"])  # type: ignore[arg-type]
        with self._uow() as uow:
            current = self._vehicle(uow, vehicle_id)
            updated = replace(current, **valid, updated_at=self._clock())  # type: ignore[arg-type]
            raise_if(validate_vehicle(updated))
            uow.vehicles.update(updated)
            uow.commit()
        return updated

    def list_vehicles(self, offset: int = 0, limit: int = 50) -> Page[Vehicle]:
        with self._uow() as uow:
            return page_of(uow.vehicles, offset, limit)

    def add_usage(
        self,
        vehicle_id: str,
        kind: UsageKind,
        start: datetime,
        *,
        customer_id: str | None = None,
        fleet_id: str | None = None,
        end: datetime | None = None,
    ) -> VehicleUsage:
        """Record an owner change, a fleet membership or a driver assignment. A new owner (or fleet)
        closes the open owner (or fleet) period at ``start``; other overlaps are refused."""
        usage = VehicleUsage(
            self._new_id(), vehicle_id, kind, customer_id, fleet_id, start, end, self._clock()
        )
        raise_if(validate_usage(usage))
        with self._uow() as uow:
            self._vehicle(uow, vehicle_id)
            problems = []
            if customer_id is not None and uow.customers.get(customer_id) is None:
                problems.append(Problem("customer_id", "exists", "no such customer"))
            if fleet_id is not None and uow.fleets.get(fleet_id) is None:
                problems.append(Problem("fleet_id", "exists", "no such fleet"))
            raise_if(problems)
            closed, clashes = change_usage(usage, uow.usages.for_vehicle(vehicle_id))
            if clashes:
                raise ConflictError(str(clashes[0]))
            for period in closed:
                uow.usages.update(period)
            uow.usages.add(usage)
            uow.commit()
        return usage

    def usages_of(self, vehicle_id: str) -> list[VehicleUsage]:
        with self._uow() as uow:
            return reads.usages_of(uow, vehicle_id)

    def usages_of_customer(self, customer_id: str) -> list[VehicleUsage]:
        """Every period in which the customer owned or drove a vehicle (access requests, R1)."""
        with self._uow() as uow:
            return reads.usages_of_customer(uow, customer_id)

    def vehicles_of(self, customer_id: str, at: datetime) -> list[Vehicle]:
        """The vehicles whose data belongs to the customer at ``at`` (as owner or driver)."""
        with self._uow() as uow:
            return reads.vehicles_of(uow, customer_id, at)

    def subject_for(self, vehicle_id: str, at: datetime) -> Attribution:
        with self._uow() as uow:
            return reads.attribution(uow, vehicle_id, at)

    # --- contracts --------------------------------------------------------------------------

    def conclude_contract(
        self,
        customer_id: str,
        vehicle_id: str,
        start: datetime,
        services: Sequence[str],
        end: datetime | None = None,
    ) -> Contract:
        now = self._clock()
        contract = Contract(
            self._new_id(), customer_id, vehicle_id, start, end, tuple(services), now, now
        )
        raise_if(validate_contract(contract))
        with self._uow() as uow:
            problems = []
            if uow.customers.get(customer_id) is None:
                problems.append(Problem("customer_id", "exists", "no such customer"))
            if uow.vehicles.get(vehicle_id) is None:
                problems.append(Problem("vehicle_id", "exists", "no such vehicle"))
            raise_if(problems)
            uow.contracts.add(contract)
            uow.commit()
        return contract

    def get_contract(self, contract_id: str) -> Contract:
        with self._uow() as uow:
            contract = uow.contracts.get(contract_id)
        if contract is None:
            raise NotFoundError("contract", contract_id)
        return contract

    def update_contract(self, contract_id: str, changes: Mapping[str, object]) -> Contract:
        """A contract's end (termination) and its services can change; parties and start cannot."""
        valid, problems = _checked_changes(changes, ("end", "services"))
        raise_if(problems)
        if isinstance(valid.get("services"), list):
            valid["services"] = tuple(valid["services"])  # type: ignore[arg-type]
        with self._uow() as uow:
            current = uow.contracts.get(contract_id)
            if current is None:
                raise NotFoundError("contract", contract_id)
            updated = replace(current, **valid, updated_at=self._clock())  # type: ignore[arg-type]
            raise_if(validate_contract(updated))
            uow.contracts.update(updated)
            uow.commit()
        return updated

    def list_contracts(self, offset: int = 0, limit: int = 50) -> Page[Contract]:
        with self._uow() as uow:
            return page_of(uow.contracts, offset, limit)

    def contracts_of(self, customer_id: str) -> list[Contract]:
        with self._uow() as uow:
            self._customer(uow, customer_id)
            return uow.contracts.for_customer(customer_id)

    # --- payments ---------------------------------------------------------------------------

    def record_payment(
        self,
        customer_id: str,
        amount_minor: int,
        currency: str,
        booked_at: datetime,
        method: PaymentMethod,
        contract_id: str | None = None,
    ) -> PaymentTransaction:
        payment = PaymentTransaction(
            self._new_id(),
            customer_id,
            contract_id,
            amount_minor,
            currency,
            booked_at,
            method,
            self._clock(),
        )
        raise_if(validate_payment(payment))
        with self._uow() as uow:
            problems = []
            customer = uow.customers.get(customer_id)
            if customer is None:
                problems.append(Problem("customer_id", "exists", "no such customer"))
            elif customer.erased:
                raise ConflictError("the customer's data was erased")
            if contract_id is not None:
                contract = uow.contracts.get(contract_id)
                if contract is None:
                    problems.append(Problem("contract_id", "exists", "no such contract"))
                elif contract.customer_id != customer_id:
                    problems.append(
                        Problem("contract_id", "same_customer", "belongs to another customer")
                    )
            raise_if(problems)
            uow.payments.add(payment)
            uow.commit()
        return payment

    def get_payment(self, payment_id: str) -> PaymentTransaction:
        with self._uow() as uow:
            payment = uow.payments.get(payment_id)
        if payment is None:
            raise NotFoundError("payment", payment_id)
        return payment

    def list_payments(self, offset: int = 0, limit: int = 50) -> Page[PaymentTransaction]:
        with self._uow() as uow:
            return page_of(uow.payments, offset, limit)

    def payments_of(self, customer_id: str) -> list[PaymentTransaction]:
        with self._uow() as uow:
            self._customer(uow, customer_id)
            return uow.payments.for_customer(customer_id)

    def is_empty(self) -> bool:
        with self._uow() as uow:
            return uow.customers.count() == 0 and uow.vehicles.count() == 0

    # --- lookups ----------------------------------------------------------------------------

    @staticmethod
    def _customer(uow: MasterDataUnitOfWork, customer_id: str) -> Customer:
        return reads.customer(uow, customer_id)

    @staticmethod
    def _vehicle(uow: MasterDataUnitOfWork, vehicle_id: str) -> Vehicle:
        return reads.vehicle(uow, vehicle_id)
