"""Master data API (issue 2 item 9; SPEC I4, P1): customers, their accounts, vehicles and their
usage periods, fleets, contracts and payments. Administrator credential for now.

One request is one unit of work: it is validated first and writes everything or nothing. Unknown ids
in the path are 404; unknown ids in the body are 422 naming the field.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Query, Response, status

from carprivacy.bootstrap import Container
from carprivacy.domain.errors import InvalidInputError, Problem
from carprivacy.domain.master import ContactDetails, PaymentMethod
from carprivacy.entrypoints.api.deps import get_container, require_admin
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
from carprivacy.services.master import MAX_PAGE, MasterDataService

router = APIRouter(prefix="/v1", tags=["master data"], dependencies=[Depends(require_admin)])

Offset = Query(0, ge=0, description="How many items to skip.")
Limit = Query(50, ge=1, le=MAX_PAGE, description="How many items to return.")


def get_master(container: Container = Depends(get_container)) -> MasterDataService:
    return container.master


def _moment(at: datetime | None) -> datetime:
    if at is not None and at.tzinfo is None:
        raise InvalidInputError([Problem("at", "utc_datetime", "must carry a UTC offset")])
    return (at or datetime.now(UTC)).astimezone(UTC)


# --- customers ---------------------------------------------------------------------------------


@router.post("/customers", status_code=status.HTTP_201_CREATED, response_model=CustomerOut)
def create_customer(body: CustomerIn, svc: MasterDataService = Depends(get_master)) -> CustomerOut:
    return CustomerOut.of(svc.register_customer(ContactDetails(**body.model_dump())))


@router.get("/customers", response_model=PageOut[CustomerOut])
def list_customers(
    offset: int = Offset, limit: int = Limit, svc: MasterDataService = Depends(get_master)
) -> PageOut[CustomerOut]:
    page = svc.list_customers(offset, limit)
    return PageOut[CustomerOut](
        items=[CustomerOut.of(c) for c in page.items],
        total=page.total,
        offset=offset,
        limit=limit,
    )


@router.get("/customers/{customer_id}", response_model=CustomerOut)
def get_customer(customer_id: str, svc: MasterDataService = Depends(get_master)) -> CustomerOut:
    return CustomerOut.of(svc.get_customer(customer_id))


@router.patch("/customers/{customer_id}", response_model=CustomerOut)
def update_customer(
    customer_id: str, body: CustomerPatch, svc: MasterDataService = Depends(get_master)
) -> CustomerOut:
    return CustomerOut.of(svc.update_customer(customer_id, body.model_dump(exclude_unset=True)))


@router.post(
    "/customers/{customer_id}/accounts",
    status_code=status.HTTP_201_CREATED,
    response_model=AccountOut,
)
def open_account(
    customer_id: str, body: AccountIn, svc: MasterDataService = Depends(get_master)
) -> AccountOut:
    return AccountOut.of(svc.open_account(customer_id, body.controller, body.kind, body.login_id))


@router.get("/customers/{customer_id}/accounts", response_model=list[AccountOut])
def list_accounts(
    customer_id: str, svc: MasterDataService = Depends(get_master)
) -> list[AccountOut]:
    return [AccountOut.of(a) for a in svc.accounts_of(customer_id)]


@router.delete("/accounts/{account_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_account(account_id: str, svc: MasterDataService = Depends(get_master)) -> Response:
    """Deletes one account; the customer's records at the other controller stay (P1)."""
    svc.delete_account(account_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/customers/{customer_id}/contracts", response_model=list[ContractOut])
def customer_contracts(
    customer_id: str, svc: MasterDataService = Depends(get_master)
) -> list[ContractOut]:
    return [ContractOut.of(c) for c in svc.contracts_of(customer_id)]


@router.get("/customers/{customer_id}/payments", response_model=list[PaymentOut])
def customer_payments(
    customer_id: str, svc: MasterDataService = Depends(get_master)
) -> list[PaymentOut]:
    return [PaymentOut.of(p) for p in svc.payments_of(customer_id)]


@router.get("/customers/{customer_id}/vehicles", response_model=list[VehicleOut])
def customer_vehicles(
    customer_id: str,
    at: datetime | None = Query(None, description="Moment (ISO 8601 with offset); default now."),
    svc: MasterDataService = Depends(get_master),
) -> list[VehicleOut]:
    """The vehicles whose data belongs to the customer at ``at`` (owner, or assigned driver)."""
    return [VehicleOut.of(v) for v in svc.vehicles_of(customer_id, _moment(at))]


@router.get("/customers/{customer_id}/usages", response_model=list[UsageOut])
def customer_usages(
    customer_id: str, svc: MasterDataService = Depends(get_master)
) -> list[UsageOut]:
    return [UsageOut.of(u) for u in svc.usages_of_customer(customer_id)]


# --- vehicles and usage periods ----------------------------------------------------------------


@router.post("/vehicles", status_code=status.HTTP_201_CREATED, response_model=VehicleOut)
def create_vehicle(body: VehicleIn, svc: MasterDataService = Depends(get_master)) -> VehicleOut:
    vehicle = svc.register_vehicle(
        body.vin, body.model, body.colour, body.equipment, body.end_of_life
    )
    return VehicleOut.of(vehicle)


@router.get("/vehicles", response_model=PageOut[VehicleOut])
def list_vehicles(
    offset: int = Offset, limit: int = Limit, svc: MasterDataService = Depends(get_master)
) -> PageOut[VehicleOut]:
    page = svc.list_vehicles(offset, limit)
    return PageOut[VehicleOut](
        items=[VehicleOut.of(v) for v in page.items],
        total=page.total,
        offset=offset,
        limit=limit,
    )


@router.get("/vehicles/{vehicle_id}", response_model=VehicleOut)
def get_vehicle(vehicle_id: str, svc: MasterDataService = Depends(get_master)) -> VehicleOut:
    return VehicleOut.of(svc.get_vehicle(vehicle_id))


@router.patch("/vehicles/{vehicle_id}", response_model=VehicleOut)
def update_vehicle(
    vehicle_id: str, body: VehiclePatch, svc: MasterDataService = Depends(get_master)
) -> VehicleOut:
    return VehicleOut.of(svc.update_vehicle(vehicle_id, body.model_dump(exclude_unset=True)))


@router.post(
    "/vehicles/{vehicle_id}/usages", status_code=status.HTTP_201_CREATED, response_model=UsageOut
)
def add_usage(
    vehicle_id: str, body: UsageIn, svc: MasterDataService = Depends(get_master)
) -> UsageOut:
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
    return UsageOut.of(usage)


@router.get("/vehicles/{vehicle_id}/usages", response_model=list[UsageOut])
def list_usages(vehicle_id: str, svc: MasterDataService = Depends(get_master)) -> list[UsageOut]:
    return [UsageOut.of(u) for u in svc.usages_of(vehicle_id)]


@router.get("/vehicles/{vehicle_id}/subject", response_model=AttributionOut)
def vehicle_subject(
    vehicle_id: str,
    at: datetime | None = Query(None, description="Moment (ISO 8601 with offset); default now."),
    svc: MasterDataService = Depends(get_master),
) -> AttributionOut:
    """Whose data the vehicle produces at ``at``: the driver, else the owner, else its fleet."""
    moment = _moment(at)
    found = svc.subject_for(vehicle_id, moment)
    return AttributionOut(
        vehicle_id=vehicle_id,
        at=moment,
        customer_id=found.customer_id,
        fleet_id=found.fleet_id,
        basis=found.basis,
    )


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


@router.post("/contracts", status_code=status.HTTP_201_CREATED, response_model=ContractOut)
def create_contract(body: ContractIn, svc: MasterDataService = Depends(get_master)) -> ContractOut:
    contract = svc.conclude_contract(
        body.customer_id, body.vehicle_id, body.start, body.services, body.end
    )
    return ContractOut.of(contract)


@router.get("/contracts", response_model=PageOut[ContractOut])
def list_contracts(
    offset: int = Offset, limit: int = Limit, svc: MasterDataService = Depends(get_master)
) -> PageOut[ContractOut]:
    page = svc.list_contracts(offset, limit)
    return PageOut[ContractOut](
        items=[ContractOut.of(c) for c in page.items],
        total=page.total,
        offset=offset,
        limit=limit,
    )


@router.get("/contracts/{contract_id}", response_model=ContractOut)
def get_contract(contract_id: str, svc: MasterDataService = Depends(get_master)) -> ContractOut:
    return ContractOut.of(svc.get_contract(contract_id))


@router.patch("/contracts/{contract_id}", response_model=ContractOut)
def update_contract(
    contract_id: str, body: ContractPatch, svc: MasterDataService = Depends(get_master)
) -> ContractOut:
    return ContractOut.of(svc.update_contract(contract_id, body.model_dump(exclude_unset=True)))


# --- payments ----------------------------------------------------------------------------------


@router.post("/payments", status_code=status.HTTP_201_CREATED, response_model=PaymentOut)
def record_payment(body: PaymentIn, svc: MasterDataService = Depends(get_master)) -> PaymentOut:
    payment = svc.record_payment(
        body.customer_id,
        int(body.amount.scaleb(2)),
        body.currency,
        body.booked_at,
        PaymentMethod(body.method.kind, body.method.details),
        body.contract_id,
    )
    return PaymentOut.of(payment)


@router.get("/payments", response_model=PageOut[PaymentOut])
def list_payments(
    offset: int = Offset, limit: int = Limit, svc: MasterDataService = Depends(get_master)
) -> PageOut[PaymentOut]:
    page = svc.list_payments(offset, limit)
    return PageOut[PaymentOut](
        items=[PaymentOut.of(p) for p in page.items],
        total=page.total,
        offset=offset,
        limit=limit,
    )


@router.get("/payments/{payment_id}", response_model=PaymentOut)
def get_payment(payment_id: str, svc: MasterDataService = Depends(get_master)) -> PaymentOut:
    return PaymentOut.of(svc.get_payment(payment_id))
