"""Master data API (SPEC I4, P1): customers, their accounts, vehicles and their
usage periods, fleets, contracts and payments. Administrator credential for now.

One request is one unit of work: it is validated first and writes everything or nothing. Unknown ids
in the path are 404; unknown ids in the body are 422 naming the field.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse

from carprivacy.domain.access import Caller, Role
from carprivacy.domain.errors import AccessDeniedError, InvalidInputError, Problem
from carprivacy.domain.master import (
    Account,
    ContactDetails,
    Contract,
    Customer,
    PaymentMethod,
    PaymentTransaction,
    Vehicle,
    VehicleUsage,
)
from carprivacy.entrypoints.api.auth import get_caller
from carprivacy.entrypoints.api.deps import get_master
from carprivacy.entrypoints.api.release import echo, get_gate, get_reading, respond
from carprivacy.entrypoints.api.schemas.master import (
    AccountIn,
    AccountOut,
    AttributionOut,
    ContractIn,
    ContractOut,
    ContractPatch,
    CustomerIn,
    CustomerOut,
    CustomerPatch,
    FleetIn,
    FleetOut,
    PageOut,
    PaymentIn,
    PaymentOut,
    UsageIn,
    UsageOut,
    VehicleIn,
    VehicleOut,
    VehiclePatch,
)
from carprivacy.entrypoints.api.schemas.master_written import (
    AccountWritten,
    ContractWritten,
    CustomerWritten,
    PaymentWritten,
    UsageWritten,
    VehicleWritten,
)
from carprivacy.services.access.gate import Gate, Reading, Record
from carprivacy.services.master import reads, views
from carprivacy.services.master.ports import MasterDataUnitOfWork
from carprivacy.services.master.service import MAX_PAGE, MasterDataService

# Every read names its purpose and is decided by the engine: GET routes release
# their answer through a Reader and the View of its policy category; writes are for staff that
# manage master data and answer only the object's id, metadata and what the caller sent.
WRITERS = frozenset({Role.ADMINISTRATOR, Role.CUSTOMER_SERVICE, Role.SERVICE})


def master_access(request: Request, caller: Caller = Depends(get_caller)) -> Caller:
    if request.method not in ("GET", "HEAD") and caller.role not in WRITERS:
        raise AccessDeniedError("this role does not manage master data", ("caller.role",))
    return caller


router = APIRouter(prefix="/v1", tags=["master data"], dependencies=[Depends(master_access)])

Offset = Query(0, ge=0, description="How many items to skip.")
Limit = Query(50, ge=1, le=MAX_PAGE, description="How many items to return.")


def _moment(at: datetime | None) -> datetime:
    if at is not None and at.tzinfo is None:
        raise InvalidInputError([Problem("at", "utc_datetime", "must carry a UTC offset")])
    return (at or datetime.now(UTC)).astimezone(UTC)


# --- customers ---------------------------------------------------------------------------------


@router.post("/customers", status_code=status.HTTP_201_CREATED, response_model=CustomerWritten)
def create_customer(body: CustomerIn, svc: MasterDataService = Depends(get_master)) -> JSONResponse:
    customer = CustomerOut.of(svc.register_customer(ContactDetails(**body.model_dump())))
    return echo(views.CUSTOMER, customer, body.model_fields_set, status.HTTP_201_CREATED)


@router.get("/customers", response_model=PageOut[CustomerOut])
def list_customers(
    offset: int = Offset,
    limit: int = Limit,
    gate: Gate[Any] = Depends(get_gate),
    reading: Reading = Depends(get_reading),
) -> JSONResponse:
    return respond(
        gate.page(
            reading,
            views.CUSTOMER,
            lambda s: s.customers.refs(),
            lambda s, ids: map(_customer, s.customers.get_many(ids)),
            offset,
            limit,
        )
    )


@router.get("/customers/{customer_id}", response_model=CustomerOut)
def get_customer(
    customer_id: str,
    gate: Gate[Any] = Depends(get_gate),
    reading: Reading = Depends(get_reading),
) -> JSONResponse:
    load = lambda s: _customer(reads.customer(s, customer_id))  # noqa: E731
    return respond(gate.one(reading, views.CUSTOMER, load, subject_id=customer_id))


@router.patch("/customers/{customer_id}", response_model=CustomerWritten)
def update_customer(
    customer_id: str, body: CustomerPatch, svc: MasterDataService = Depends(get_master)
) -> JSONResponse:
    changes = body.model_dump(exclude_unset=True)
    return echo(views.CUSTOMER, CustomerOut.of(svc.update_customer(customer_id, changes)), changes)


@router.post(
    "/customers/{customer_id}/accounts",
    status_code=status.HTTP_201_CREATED,
    response_model=AccountWritten,
)
def open_account(
    customer_id: str, body: AccountIn, svc: MasterDataService = Depends(get_master)
) -> JSONResponse:
    account = svc.open_account(customer_id, body.controller, body.kind, body.login_id)
    sent = body.model_fields_set | {"customer_id"}
    return echo(views.ACCOUNT, AccountOut.of(account), sent, status.HTTP_201_CREATED)


@router.get("/customers/{customer_id}/accounts", response_model=list[AccountOut])
def list_accounts(
    customer_id: str,
    gate: Gate[Any] = Depends(get_gate),
    reading: Reading = Depends(get_reading),
) -> JSONResponse:
    load = lambda s: map(_account, reads.accounts_of(s, customer_id))  # noqa: E731
    return respond(gate.of(reading, views.ACCOUNT, load, subject_id=customer_id))


@router.delete("/accounts/{account_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_account(account_id: str, svc: MasterDataService = Depends(get_master)) -> Response:
    """Deletes one account; the customer's records at the other controller stay (P1)."""
    svc.delete_account(account_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/customers/{customer_id}/contracts", response_model=list[ContractOut])
def customer_contracts(
    customer_id: str,
    gate: Gate[Any] = Depends(get_gate),
    reading: Reading = Depends(get_reading),
) -> JSONResponse:
    load = lambda s: map(_contract, reads.contracts_of(s, customer_id))  # noqa: E731
    return respond(gate.of(reading, views.CONTRACT, load, subject_id=customer_id))


@router.get("/customers/{customer_id}/payments", response_model=list[PaymentOut])
def customer_payments(
    customer_id: str,
    gate: Gate[Any] = Depends(get_gate),
    reading: Reading = Depends(get_reading),
) -> JSONResponse:
    load = lambda s: map(_payment, reads.payments_of(s, customer_id))  # noqa: E731
    return respond(gate.of(reading, views.PAYMENT, load, subject_id=customer_id))


@router.get("/customers/{customer_id}/vehicles", response_model=list[VehicleOut])
def customer_vehicles(
    customer_id: str,
    at: datetime | None = Query(None, description="Moment (ISO 8601 with offset); default now."),
    gate: Gate[Any] = Depends(get_gate),
    reading: Reading = Depends(get_reading),
) -> JSONResponse:
    """The vehicles whose data belongs to the customer at ``at`` (owner, or assigned driver)."""
    moment = _moment(at)

    def load(s: MasterDataUnitOfWork) -> Iterable[Record]:
        return (_vehicle(v, customer_id) for v in reads.vehicles_of(s, customer_id, moment))

    return respond(gate.of(reading, views.VEHICLE_RECORD, load, subject_id=customer_id))


@router.get("/customers/{customer_id}/usages", response_model=list[UsageOut])
def customer_usages(
    customer_id: str,
    gate: Gate[Any] = Depends(get_gate),
    reading: Reading = Depends(get_reading),
) -> JSONResponse:
    load = lambda s: map(_usage, reads.usages_of_customer(s, customer_id))  # noqa: E731
    return respond(gate.of(reading, views.USAGE, load, subject_id=customer_id))


# --- vehicles and usage periods ----------------------------------------------------------------


@router.post("/vehicles", status_code=status.HTTP_201_CREATED, response_model=VehicleWritten)
def create_vehicle(body: VehicleIn, svc: MasterDataService = Depends(get_master)) -> JSONResponse:
    vehicle = svc.register_vehicle(
        body.vin, body.model, body.colour, body.equipment, body.end_of_life
    )
    return echo(
        views.VEHICLE_RECORD, VehicleOut.of(vehicle), body.model_fields_set, status.HTTP_201_CREATED
    )


@router.get("/vehicles", response_model=PageOut[VehicleOut])
def list_vehicles(
    offset: int = Offset,
    limit: int = Limit,
    gate: Gate[Any] = Depends(get_gate),
    reading: Reading = Depends(get_reading),
) -> JSONResponse:
    return respond(
        gate.page(
            reading,
            views.VEHICLE_RECORD,
            lambda s: s.vehicles.refs(),
            lambda s, ids: (_vehicle(v) for v in s.vehicles.get_many(ids)),
            offset,
            limit,
        )
    )


@router.get("/vehicles/{vehicle_id}", response_model=VehicleOut)
def get_vehicle(
    vehicle_id: str,
    gate: Gate[Any] = Depends(get_gate),
    reading: Reading = Depends(get_reading),
) -> JSONResponse:
    load = lambda s: _vehicle(reads.vehicle(s, vehicle_id))  # noqa: E731
    return respond(gate.one(reading, views.VEHICLE_RECORD, load, vehicle_id=vehicle_id))


@router.patch("/vehicles/{vehicle_id}", response_model=VehicleWritten)
def update_vehicle(
    vehicle_id: str, body: VehiclePatch, svc: MasterDataService = Depends(get_master)
) -> JSONResponse:
    changes = body.model_dump(exclude_unset=True)
    return echo(
        views.VEHICLE_RECORD, VehicleOut.of(svc.update_vehicle(vehicle_id, changes)), changes
    )


@router.post(
    "/vehicles/{vehicle_id}/usages",
    status_code=status.HTTP_201_CREATED,
    response_model=UsageWritten,
)
def add_usage(
    vehicle_id: str, body: UsageIn, svc: MasterDataService = Depends(get_master)
) -> JSONResponse:
    """An owner change (kind owner: closes the current owner period at ``start``), a fleet
    membership (kind fleet) or a driver assignment (kind driver)."""
    usage = svc.add_usage(
        vehicle_id,
        body.kind,
        body.start,
        customer_id=body.customer_id,
        fleet_id=body.fleet_id,
        end=body.end,
    )
    sent = body.model_fields_set | {"vehicle_id"}
    return echo(views.USAGE, UsageOut.of(usage), sent, status.HTTP_201_CREATED)


@router.get("/vehicles/{vehicle_id}/usages", response_model=list[UsageOut])
def list_usages(
    vehicle_id: str,
    gate: Gate[Any] = Depends(get_gate),
    reading: Reading = Depends(get_reading),
) -> JSONResponse:
    load = lambda s: map(_usage, reads.usages_of(s, vehicle_id))  # noqa: E731
    return respond(gate.of(reading, views.USAGE, load, vehicle_id=vehicle_id))


@router.get("/vehicles/{vehicle_id}/subject", response_model=AttributionOut)
def vehicle_subject(
    vehicle_id: str,
    at: datetime | None = Query(None, description="Moment (ISO 8601 with offset); default now."),
    gate: Gate[Any] = Depends(get_gate),
    reading: Reading = Depends(get_reading),
) -> JSONResponse:
    """Whose data the vehicle produces at ``at``: the driver, else the owner, else its fleet."""
    moment = _moment(at)

    def load(s: MasterDataUnitOfWork) -> Record:
        found = reads.attribution(s, vehicle_id, moment)
        out = AttributionOut(
            vehicle_id=vehicle_id,
            at=moment,
            customer_id=found.customer_id,
            fleet_id=found.fleet_id,
            basis=found.basis,
        )
        return Record(out.model_dump(), found.customer_id, vehicle_id)

    return respond(gate.one(reading, views.ATTRIBUTION, load, vehicle_id=vehicle_id))


# --- fleets ------------------------------------------------------------------------------------


@router.post("/fleets", status_code=status.HTTP_201_CREATED, response_model=FleetOut)
def create_fleet(body: FleetIn, svc: MasterDataService = Depends(get_master)) -> FleetOut:
    return FleetOut.of(svc.create_fleet(body.name, body.country))


@router.get("/fleets", response_model=PageOut[FleetOut])
def list_fleets(
    offset: int = Offset,
    limit: int = Limit,
    gate: Gate[Any] = Depends(get_gate),
    reading: Reading = Depends(get_reading),
) -> JSONResponse:
    return respond(
        gate.page(
            reading,
            views.FLEET,
            lambda s: s.fleets.refs(),
            lambda s, ids: (Record(FleetOut.of(f).model_dump()) for f in s.fleets.get_many(ids)),
            offset,
            limit,
        )
    )


@router.get("/fleets/{fleet_id}", response_model=FleetOut)
def get_fleet(
    fleet_id: str,
    gate: Gate[Any] = Depends(get_gate),
    reading: Reading = Depends(get_reading),
) -> JSONResponse:
    load = lambda s: Record(FleetOut.of(reads.fleet(s, fleet_id)).model_dump())  # noqa: E731
    return respond(gate.one(reading, views.FLEET, load))


# --- contracts ---------------------------------------------------------------------------------


@router.post("/contracts", status_code=status.HTTP_201_CREATED, response_model=ContractWritten)
def create_contract(body: ContractIn, svc: MasterDataService = Depends(get_master)) -> JSONResponse:
    contract = svc.conclude_contract(
        body.customer_id, body.vehicle_id, body.start, body.services, body.end
    )
    sent = body.model_fields_set
    return echo(views.CONTRACT, ContractOut.of(contract), sent, status.HTTP_201_CREATED)


@router.get("/contracts", response_model=PageOut[ContractOut])
def list_contracts(
    offset: int = Offset,
    limit: int = Limit,
    gate: Gate[Any] = Depends(get_gate),
    reading: Reading = Depends(get_reading),
) -> JSONResponse:
    return respond(
        gate.page(
            reading,
            views.CONTRACT,
            lambda s: s.contracts.refs(),
            lambda s, ids: map(_contract, s.contracts.get_many(ids)),
            offset,
            limit,
        )
    )


@router.get("/contracts/{contract_id}", response_model=ContractOut)
def get_contract(
    contract_id: str,
    gate: Gate[Any] = Depends(get_gate),
    reading: Reading = Depends(get_reading),
) -> JSONResponse:
    load = lambda s: _contract(reads.contract(s, contract_id))  # noqa: E731
    return respond(gate.one(reading, views.CONTRACT, load))


@router.patch("/contracts/{contract_id}", response_model=ContractWritten)
def update_contract(
    contract_id: str, body: ContractPatch, svc: MasterDataService = Depends(get_master)
) -> JSONResponse:
    changes = body.model_dump(exclude_unset=True)
    return echo(views.CONTRACT, ContractOut.of(svc.update_contract(contract_id, changes)), changes)


# --- payments ----------------------------------------------------------------------------------


@router.post("/payments", status_code=status.HTTP_201_CREATED, response_model=PaymentWritten)
def record_payment(body: PaymentIn, svc: MasterDataService = Depends(get_master)) -> JSONResponse:
    payment = svc.record_payment(
        body.customer_id,
        int(body.amount.scaleb(2)),
        body.currency,
        body.booked_at,
        PaymentMethod(body.method.kind, body.method.details),
        body.contract_id,
    )
    sent = body.model_fields_set
    return echo(views.PAYMENT, PaymentOut.of(payment), sent, status.HTTP_201_CREATED)


@router.get("/payments", response_model=PageOut[PaymentOut])
def list_payments(
    offset: int = Offset,
    limit: int = Limit,
    gate: Gate[Any] = Depends(get_gate),
    reading: Reading = Depends(get_reading),
) -> JSONResponse:
    return respond(
        gate.page(
            reading,
            views.PAYMENT,
            lambda s: s.payments.refs(),
            lambda s, ids: map(_payment, s.payments.get_many(ids)),
            offset,
            limit,
        )
    )


@router.get("/payments/{payment_id}", response_model=PaymentOut)
def get_payment(
    payment_id: str,
    gate: Gate[Any] = Depends(get_gate),
    reading: Reading = Depends(get_reading),
) -> JSONResponse:
    load = lambda s: _payment(reads.payment(s, payment_id))  # noqa: E731
    return respond(gate.one(reading, views.PAYMENT, load))


# --- records as the gate releases them ---------------------------------------------------------


def _customer(c: Customer) -> Record:
    return Record(CustomerOut.of(c).model_dump(), c.id, None)


def _account(a: Account) -> Record:
    return Record(AccountOut.of(a).model_dump(), a.customer_id, None)


def _vehicle(v: Vehicle, customer_id: str | None = None) -> Record:
    return Record(VehicleOut.of(v).model_dump(), customer_id, v.id)


def _usage(u: VehicleUsage) -> Record:
    return Record(UsageOut.of(u).model_dump(), u.customer_id, u.vehicle_id)


def _contract(c: Contract) -> Record:
    return Record(ContractOut.of(c).model_dump(), c.customer_id, c.vehicle_id)


def _payment(p: PaymentTransaction) -> Record:
    return Record(PaymentOut.of(p).model_dump(), p.customer_id, None)
