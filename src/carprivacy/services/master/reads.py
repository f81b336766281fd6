"""Reads of master data inside a unit of work: what the gate's loaders and the service share.

Each function reads in the caller's transaction and raises NotFoundError for an unknown id, so
that the gate can load a record and its decision facts in one transaction.
"""

from __future__ import annotations

from datetime import datetime

from carprivacy.domain.errors import NotFoundError
from carprivacy.domain.master import (
    Account,
    Contract,
    Customer,
    Fleet,
    PaymentTransaction,
    Vehicle,
    VehicleUsage,
)
from carprivacy.domain.vehicle_usage import Attribution, subject_for
from carprivacy.services.master.ports import MasterDataUnitOfWork


def customer(uow: MasterDataUnitOfWork, customer_id: str) -> Customer:
    found = uow.customers.get(customer_id)
    if found is None:
        raise NotFoundError("customer", customer_id)
    return found


def vehicle(uow: MasterDataUnitOfWork, vehicle_id: str) -> Vehicle:
    found = uow.vehicles.get(vehicle_id)
    if found is None:
        raise NotFoundError("vehicle", vehicle_id)
    return found


def fleet(uow: MasterDataUnitOfWork, fleet_id: str) -> Fleet:
    found = uow.fleets.get(fleet_id)
    if found is None:
        raise NotFoundError("fleet", fleet_id)
    return found


def contract(uow: MasterDataUnitOfWork, contract_id: str) -> Contract:
    found = uow.contracts.get(contract_id)
    if found is None:
        raise NotFoundError("contract", contract_id)
    return found


def payment(uow: MasterDataUnitOfWork, payment_id: str) -> PaymentTransaction:
    found = uow.payments.get(payment_id)
    if found is None:
        raise NotFoundError("payment", payment_id)
    return found


def accounts_of(uow: MasterDataUnitOfWork, customer_id: str) -> list[Account]:
    customer(uow, customer_id)
    return uow.accounts.for_customer(customer_id)


def contracts_of(uow: MasterDataUnitOfWork, customer_id: str) -> list[Contract]:
    customer(uow, customer_id)
    return uow.contracts.for_customer(customer_id)


def payments_of(uow: MasterDataUnitOfWork, customer_id: str) -> list[PaymentTransaction]:
    customer(uow, customer_id)
    return uow.payments.for_customer(customer_id)


def usages_of(uow: MasterDataUnitOfWork, vehicle_id: str) -> list[VehicleUsage]:
    vehicle(uow, vehicle_id)
    return uow.usages.for_vehicle(vehicle_id)


def usages_of_customer(uow: MasterDataUnitOfWork, customer_id: str) -> list[VehicleUsage]:
    """Every period in which the customer owned or drove a vehicle (access requests, R1)."""
    customer(uow, customer_id)
    return uow.usages.for_customer(customer_id)


def vehicles_of(uow: MasterDataUnitOfWork, customer_id: str, at: datetime) -> list[Vehicle]:
    """The vehicles whose data belongs to the customer at ``at`` (as owner or driver)."""
    customer(uow, customer_id)
    found = []
    for vehicle_id in dict.fromkeys(u.vehicle_id for u in uow.usages.for_customer(customer_id)):
        who = subject_for(vehicle_id, uow.usages.for_vehicle(vehicle_id), at)
        held = uow.vehicles.get(vehicle_id)
        if who.customer_id == customer_id and held is not None:
            found.append(held)
    return found


def attribution(uow: MasterDataUnitOfWork, vehicle_id: str, at: datetime) -> Attribution:
    vehicle(uow, vehicle_id)
    return subject_for(vehicle_id, uow.usages.for_vehicle(vehicle_id), at)
