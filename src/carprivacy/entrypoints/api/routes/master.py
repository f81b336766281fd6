"""Master data API (SPEC I4, P1): customers, their accounts, vehicles and their
usage periods, fleets, contracts and payments. Administrator credential for now.

One request is one unit of work: it is validated first and writes everything or nothing. Unknown ids
in the path are 404; unknown ids in the body are 422 naming the field.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse

from carprivacy.bootstrap import Container
from carprivacy.domain.access import Caller, Role
from carprivacy.domain.errors import AccessDeniedError, InvalidInputError, NotFoundError, Problem
from carprivacy.domain.master import ContactDetails, PaymentMethod
from carprivacy.entrypoints.api.auth import get_caller
from carprivacy.entrypoints.api.deps import get_container
from carprivacy.entrypoints.api.release import Reader, echo, get_reader, respond
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
from carprivacy.entrypoints.api.schemas.master_views import (
    ACCOUNT_VIEW,
    CONTRACT_VIEW,
    CUSTOMER_VIEW,
    PAYMENT_VIEW,
    USAGE_VIEW,
    VEHICLE_VIEW,
)
from carprivacy.entrypoints.api.schemas.master_written import (
    AccountWritten,
    ContractWritten,
    CustomerWritten,
    PaymentWritten,
    UsageWritten,
    VehicleWritten,
)
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

T = TypeVar("T")
Offset = Query(0, ge=0, description="How many items to skip.")
Limit = Query(50, ge=1, le=MAX_PAGE, description="How many items to return.")


def get_master(container: Container = Depends(get_container)) -> MasterDataService:
    return container.master


def _moment(at: datetime | None) -> datetime:
    if at is not None and at.tzinfo is None:
        raise InvalidInputError([Problem("at", "utc_datetime", "must carry a UTC offset")])
    return (at or datetime.now(UTC)).astimezone(UTC)


def _found(read: Callable[[], list[T]]) -> list[T]:
    """The rows ``read`` returns; none when the customer (a caller's own id) is not found."""
    try:
        return read()
    except NotFoundError:
        return []


# --- customers ---------------------------------------------------------------------------------


@router.post("/customers", status_code=status.HTTP_201_CREATED, response_model=CustomerWritten)
def create_customer(body: CustomerIn, svc: MasterDataService = Depends(get_master)) -> JSONResponse:
    customer = CustomerOut.of(svc.register_customer(ContactDetails(**body.model_dump())))
    return echo(CUSTOMER_VIEW, customer, body.model_fields_set, status.HTTP_201_CREATED)


@router.get("/customers", response_model=PageOut[CustomerOut])
def list_customers(
    offset: int = Offset,
    limit: int = Limit,
    svc: MasterDataService = Depends(get_master),
    reader: Reader = Depends(get_reader),
) -> JSONResponse:
    return respond(
        reader.page(
            CUSTOMER_VIEW,
            svc.list_customers,
            lambda c: (CustomerOut.of(c), c.id, None),
            offset,
            limit,
            own=lambda subject: _found(lambda: [svc.get_customer(subject)]),
        )
    )


@router.get("/customers/{customer_id}", response_model=CustomerOut)
def get_customer(
    customer_id: str,
    svc: MasterDataService = Depends(get_master),
    reader: Reader = Depends(get_reader),
) -> JSONResponse:
    reader.screen(CUSTOMER_VIEW, subject_id=customer_id)
    customer = CustomerOut.of(svc.get_customer(customer_id))
    return respond(reader.one(CUSTOMER_VIEW, customer, subject_id=customer_id))


@router.patch("/customers/{customer_id}", response_model=CustomerWritten)
def update_customer(
    customer_id: str, body: CustomerPatch, svc: MasterDataService = Depends(get_master)
) -> JSONResponse:
    changes = body.model_dump(exclude_unset=True)
    return echo(CUSTOMER_VIEW, CustomerOut.of(svc.update_customer(customer_id, changes)), changes)


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
    return echo(ACCOUNT_VIEW, AccountOut.of(account), sent, status.HTTP_201_CREATED)


@router.get("/customers/{customer_id}/accounts", response_model=list[AccountOut])
def list_accounts(
    customer_id: str,
    svc: MasterDataService = Depends(get_master),
    reader: Reader = Depends(get_reader),
) -> JSONResponse:
    reader.screen(ACCOUNT_VIEW, subject_id=customer_id)
    accounts = svc.accounts_of(customer_id)
    return respond(
        reader.many(ACCOUNT_VIEW, ((AccountOut.of(a), customer_id, None) for a in accounts))
    )


@router.delete("/accounts/{account_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_account(account_id: str, svc: MasterDataService = Depends(get_master)) -> Response:
    """Deletes one account; the customer's records at the other controller stay (P1)."""
    svc.delete_account(account_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/customers/{customer_id}/contracts", response_model=list[ContractOut])
def customer_contracts(
    customer_id: str,
    svc: MasterDataService = Depends(get_master),
    reader: Reader = Depends(get_reader),
) -> JSONResponse:
    reader.screen(CONTRACT_VIEW, subject_id=customer_id)
    found = svc.contracts_of(customer_id)
    return respond(
        reader.many(CONTRACT_VIEW, ((ContractOut.of(c), customer_id, c.vehicle_id) for c in found))
    )


@router.get("/customers/{customer_id}/payments", response_model=list[PaymentOut])
def customer_payments(
    customer_id: str,
    svc: MasterDataService = Depends(get_master),
    reader: Reader = Depends(get_reader),
) -> JSONResponse:
    reader.screen(PAYMENT_VIEW, subject_id=customer_id)
    found = svc.payments_of(customer_id)
    return respond(
        reader.many(PAYMENT_VIEW, ((PaymentOut.of(p), customer_id, None) for p in found))
    )


@router.get("/customers/{customer_id}/vehicles", response_model=list[VehicleOut])
def customer_vehicles(
    customer_id: str,
    at: datetime | None = Query(None, description="Moment (ISO 8601 with offset); default now."),
    svc: MasterDataService = Depends(get_master),
    reader: Reader = Depends(get_reader),
) -> JSONResponse:
    """The vehicles whose data belongs to the customer at ``at`` (owner, or assigned driver)."""
    moment = _moment(at)
    reader.screen(VEHICLE_VIEW, subject_id=customer_id)
    found = svc.vehicles_of(customer_id, moment)
    return respond(
        reader.many(VEHICLE_VIEW, ((VehicleOut.of(v), customer_id, v.id) for v in found))
    )


@router.get("/customers/{customer_id}/usages", response_model=list[UsageOut])
def customer_usages(
    customer_id: str,
    svc: MasterDataService = Depends(get_master),
    reader: Reader = Depends(get_reader),
) -> JSONResponse:
    reader.screen(USAGE_VIEW, subject_id=customer_id)
    found = svc.usages_of_customer(customer_id)
    return respond(
        reader.many(USAGE_VIEW, ((UsageOut.of(u), customer_id, u.vehicle_id) for u in found))
    )


# --- vehicles and usage periods ----------------------------------------------------------------


@router.post("/vehicles", status_code=status.HTTP_201_CREATED, response_model=VehicleWritten)
def create_vehicle(body: VehicleIn, svc: MasterDataService = Depends(get_master)) -> JSONResponse:
    vehicle = svc.register_vehicle(
        body.vin, body.model, body.colour, body.equipment, body.end_of_life
    )
    return echo(
        VEHICLE_VIEW, VehicleOut.of(vehicle), body.model_fields_set, status.HTTP_201_CREATED
    )


@router.get("/vehicles", response_model=PageOut[VehicleOut])
def list_vehicles(
    offset: int = Offset,
    limit: int = Limit,
    svc: MasterDataService = Depends(get_master),
    reader: Reader = Depends(get_reader),
) -> JSONResponse:
    return respond(
        reader.page(
            VEHICLE_VIEW,
            svc.list_vehicles,
            lambda v: (VehicleOut.of(v), None, v.id),
            offset,
            limit,
            own=lambda subject: _found(lambda: svc.vehicles_of(subject, reader.at)),
        )
    )


@router.get("/vehicles/{vehicle_id}", response_model=VehicleOut)
def get_vehicle(
    vehicle_id: str,
    svc: MasterDataService = Depends(get_master),
    reader: Reader = Depends(get_reader),
) -> JSONResponse:
    reader.screen(VEHICLE_VIEW, vehicle_id=vehicle_id)
    vehicle = VehicleOut.of(reader.find(VEHICLE_VIEW, lambda: svc.get_vehicle(vehicle_id)))
    return respond(reader.one(VEHICLE_VIEW, vehicle, vehicle_id=vehicle_id))


@router.patch("/vehicles/{vehicle_id}", response_model=VehicleWritten)
def update_vehicle(
    vehicle_id: str, body: VehiclePatch, svc: MasterDataService = Depends(get_master)
) -> JSONResponse:
    changes = body.model_dump(exclude_unset=True)
    return echo(VEHICLE_VIEW, VehicleOut.of(svc.update_vehicle(vehicle_id, changes)), changes)


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
    return echo(USAGE_VIEW, UsageOut.of(usage), sent, status.HTTP_201_CREATED)


@router.get("/vehicles/{vehicle_id}/usages", response_model=list[UsageOut])
def list_usages(
    vehicle_id: str,
    svc: MasterDataService = Depends(get_master),
    reader: Reader = Depends(get_reader),
) -> JSONResponse:
    reader.screen(USAGE_VIEW, vehicle_id=vehicle_id)
    found = reader.find(USAGE_VIEW, lambda: svc.usages_of(vehicle_id))
    return respond(
        reader.many(USAGE_VIEW, ((UsageOut.of(u), u.customer_id, vehicle_id) for u in found))
    )


@router.get("/vehicles/{vehicle_id}/subject", response_model=AttributionOut)
def vehicle_subject(
    vehicle_id: str,
    at: datetime | None = Query(None, description="Moment (ISO 8601 with offset); default now."),
    svc: MasterDataService = Depends(get_master),
    reader: Reader = Depends(get_reader),
) -> JSONResponse:
    """Whose data the vehicle produces at ``at``: the driver, else the owner, else its fleet."""
    moment = _moment(at)
    reader.screen(USAGE_VIEW, vehicle_id=vehicle_id)
    found = reader.find(USAGE_VIEW, lambda: svc.subject_for(vehicle_id, moment))
    out = AttributionOut(
        vehicle_id=vehicle_id,
        at=moment,
        customer_id=found.customer_id,
        fleet_id=found.fleet_id,
        basis=found.basis,
    )
    released = reader.one(USAGE_VIEW, out, subject_id=found.customer_id, vehicle_id=vehicle_id)
    return respond(released)


# --- fleets ------------------------------------------------------------------------------------


@router.post("/fleets", status_code=status.HTTP_201_CREATED, response_model=FleetOut)
def create_fleet(body: FleetIn, svc: MasterDataService = Depends(get_master)) -> FleetOut:
    return FleetOut.of(svc.create_fleet(body.name, body.country))


@router.get("/fleets", response_model=PageOut[FleetOut])
def list_fleets(
    offset: int = Offset, limit: int = Limit, svc: MasterDataService = Depends(get_master)
) -> PageOut[FleetOut]:
    page = svc.list_fleets(offset, limit)
    return PageOut[FleetOut](
        items=[FleetOut.of(f) for f in page.items], total=page.total, offset=offset, limit=limit
    )


@router.get("/fleets/{fleet_id}", response_model=FleetOut)
def get_fleet(fleet_id: str, svc: MasterDataService = Depends(get_master)) -> FleetOut:
    return FleetOut.of(svc.get_fleet(fleet_id))


# --- contracts ---------------------------------------------------------------------------------


@router.post("/contracts", status_code=status.HTTP_201_CREATED, response_model=ContractWritten)
def create_contract(body: ContractIn, svc: MasterDataService = Depends(get_master)) -> JSONResponse:
    contract = svc.conclude_contract(
        body.customer_id, body.vehicle_id, body.start, body.services, body.end
    )
    sent = body.model_fields_set
    return echo(CONTRACT_VIEW, ContractOut.of(contract), sent, status.HTTP_201_CREATED)


@router.get("/contracts", response_model=PageOut[ContractOut])
def list_contracts(
    offset: int = Offset,
    limit: int = Limit,
    svc: MasterDataService = Depends(get_master),
    reader: Reader = Depends(get_reader),
) -> JSONResponse:
    return respond(
        reader.page(
            CONTRACT_VIEW,
            svc.list_contracts,
            lambda c: (ContractOut.of(c), c.customer_id, c.vehicle_id),
            offset,
            limit,
            own=lambda subject: _found(lambda: svc.contracts_of(subject)),
        )
    )


@router.get("/contracts/{contract_id}", response_model=ContractOut)
def get_contract(
    contract_id: str,
    svc: MasterDataService = Depends(get_master),
    reader: Reader = Depends(get_reader),
) -> JSONResponse:
    reader.screen(CONTRACT_VIEW)
    c = reader.find(CONTRACT_VIEW, lambda: svc.get_contract(contract_id))
    released = reader.one(
        CONTRACT_VIEW, ContractOut.of(c), subject_id=c.customer_id, vehicle_id=c.vehicle_id
    )
    return respond(released)


@router.patch("/contracts/{contract_id}", response_model=ContractWritten)
def update_contract(
    contract_id: str, body: ContractPatch, svc: MasterDataService = Depends(get_master)
) -> JSONResponse:
    changes = body.model_dump(exclude_unset=True)
    return echo(CONTRACT_VIEW, ContractOut.of(svc.update_contract(contract_id, changes)), changes)


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
    return echo(PAYMENT_VIEW, PaymentOut.of(payment), sent, status.HTTP_201_CREATED)


@router.get("/payments", response_model=PageOut[PaymentOut])
def list_payments(
    offset: int = Offset,
    limit: int = Limit,
    svc: MasterDataService = Depends(get_master),
    reader: Reader = Depends(get_reader),
) -> JSONResponse:
    return respond(
        reader.page(
            PAYMENT_VIEW,
            svc.list_payments,
            lambda p: (PaymentOut.of(p), p.customer_id, None),
            offset,
            limit,
            own=lambda subject: _found(lambda: svc.payments_of(subject)),
        )
    )


@router.get("/payments/{payment_id}", response_model=PaymentOut)
def get_payment(
    payment_id: str,
    svc: MasterDataService = Depends(get_master),
    reader: Reader = Depends(get_reader),
) -> JSONResponse:
    reader.screen(PAYMENT_VIEW)
    p = reader.find(PAYMENT_VIEW, lambda: svc.get_payment(payment_id))
    return respond(reader.one(PAYMENT_VIEW, PaymentOut.of(p), subject_id=p.customer_id))
