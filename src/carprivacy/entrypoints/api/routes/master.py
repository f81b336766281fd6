"""Master data API (SPEC I4, P1): customers, their accounts, vehicles and their
usage periods, fleets, contracts and payments. Administrator credential for now.

One request is one unit of work: it is validated first and writes everything or nothing. Unknown ids
in the path are 404; unknown ids in the body are 422 naming the field.

The standard routes of each record kind (create, one, page, patch, the records of an owner) come
from its description (``schemas/master.py``) through ``resource_routes``; what is special stays
here: which service call a write is, accounts and usage periods created under their owner, the
deletion of an account, a customer's vehicles and a vehicle's data subject at a moment, payment
amounts in minor units.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response, status

from carprivacy.domain.access import Caller, Role
from carprivacy.domain.errors import AccessDeniedError, InvalidInputError, Problem
from carprivacy.domain.master import ContactDetails, PaymentMethod
from carprivacy.entrypoints.api.auth import get_caller
from carprivacy.entrypoints.api.deps import get_master
from carprivacy.entrypoints.api.release import get_gate, get_reading, respond
from carprivacy.entrypoints.api.resource_routes import Named, create, of, released, standard
from carprivacy.entrypoints.api.schemas.master import (
    ACCOUNT,
    ATTRIBUTION,
    CONTRACT,
    CUSTOMER,
    FLEET,
    PAYMENT,
    USAGE,
    VEHICLE,
)
from carprivacy.services.access.gate import Gate, Reading, Record
from carprivacy.services.access.views import VEHICLE as VEHICLE_KIND
from carprivacy.services.master import reads
from carprivacy.services.master.ports import MasterDataUnitOfWork
from carprivacy.services.master.service import MasterDataService

# Every read names its purpose and is decided by the engine: GET routes release
# their answer through a Reader and the View of its policy category; writes are for staff that
# manage master data and answer only the object's id, metadata and what the caller sent.
WRITERS = frozenset({Role.ADMINISTRATOR, Role.CUSTOMER_SERVICE, Role.SERVICE})


def master_access(request: Request, caller: Caller = Depends(get_caller)) -> Caller:
    if request.method not in ("GET", "HEAD") and caller.role not in WRITERS:
        raise AccessDeniedError("this role does not manage master data", ("caller.role",))
    return caller


router = APIRouter(prefix="/v1", tags=["master data"], dependencies=[Depends(master_access)])

CUSTOMER_ID = Named("customer_id", "customer")
VEHICLE_ID = Named("vehicle_id", VEHICLE_KIND)
FLEET_ID = Named("fleet_id", "fleet")
CONTRACT_ID = Named("contract_id", "contract")
PAYMENT_ID = Named("payment_id", "payment")


def _moment(at: datetime | None) -> datetime:
    if at is not None and at.tzinfo is None:
        raise InvalidInputError([Problem("at", "utc_datetime", "must carry a UTC offset")])
    return (at or datetime.now(UTC)).astimezone(UTC)


# --- customers and their accounts -------------------------------------------------------------

standard(
    router,
    CUSTOMER,
    "customers",
    CUSTOMER_ID,
    write=lambda svc, body: svc.register_customer(ContactDetails(**body.model_dump())),
    load=reads.customer,
    patch=MasterDataService.update_customer,
)
create(
    router,
    "/customers/{customer_id}/accounts",
    ACCOUNT,
    "open_account",
    lambda svc, b, customer_id: svc.open_account(customer_id, b.controller, b.kind, b.login_id),
    under=CUSTOMER_ID,
)
of(
    router,
    "/customers/{customer_id}/accounts",
    ACCOUNT,
    "list_accounts",
    CUSTOMER_ID,
    reads.accounts_of,
)


@router.delete("/accounts/{account_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_account(account_id: str, svc: MasterDataService = Depends(get_master)) -> Response:
    """Deletes one account; the customer's records at the other controller stay (P1)."""
    svc.delete_account(account_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


for path, resource, name, load in (
    ("contracts", CONTRACT, "customer_contracts", reads.contracts_of),
    ("payments", PAYMENT, "customer_payments", reads.payments_of),
):
    of(router, f"/customers/{{customer_id}}/{path}", resource, name, CUSTOMER_ID, load)


@router.get("/customers/{customer_id}/vehicles", response_model=list[VEHICLE.Released])  # type: ignore[name-defined]
def customer_vehicles(
    customer_id: str,
    at: datetime | None = Query(None, description="Moment (ISO 8601 with offset); default now."),
    gate: Gate[Any] = Depends(get_gate),
    reading: Reading = Depends(get_reading),
) -> Response:
    """The vehicles whose data belongs to the customer at ``at`` (owner, or assigned driver)."""
    moment = _moment(at)

    def load(s: MasterDataUnitOfWork) -> Iterable[Record]:
        for v in reads.vehicles_of(s, customer_id, moment):
            yield released(VEHICLE, v, customer_id)

    return respond(gate.of(reading, VEHICLE.view, load, subject_id=customer_id))


of(
    router,
    "/customers/{customer_id}/usages",
    USAGE,
    "customer_usages",
    CUSTOMER_ID,
    reads.usages_of_customer,
)

# --- vehicles and usage periods ----------------------------------------------------------------

standard(
    router,
    VEHICLE,
    "vehicles",
    VEHICLE_ID,
    write=lambda svc, b: svc.register_vehicle(b.vin, b.model, b.colour, b.equipment, b.end_of_life),
    load=reads.vehicle,
    patch=MasterDataService.update_vehicle,
)
create(
    router,
    "/vehicles/{vehicle_id}/usages",
    USAGE,
    "add_usage",
    lambda svc, b, vehicle_id: svc.add_usage(
        vehicle_id, b.kind, b.start, customer_id=b.customer_id, fleet_id=b.fleet_id, end=b.end
    ),
    under=VEHICLE_ID,
    doc="""An owner change (kind owner: closes the current owner period at ``start``), a fleet
    membership (kind fleet) or a driver assignment (kind driver).""",
)
of(router, "/vehicles/{vehicle_id}/usages", USAGE, "list_usages", VEHICLE_ID, reads.usages_of)


@router.get("/vehicles/{vehicle_id}/subject", response_model=ATTRIBUTION.Out)
def vehicle_subject(
    vehicle_id: str,
    at: datetime | None = Query(None, description="Moment (ISO 8601 with offset); default now."),
    gate: Gate[Any] = Depends(get_gate),
    reading: Reading = Depends(get_reading),
) -> Response:
    """Whose data the vehicle produces at ``at``: the driver, else the owner, else its fleet."""
    moment = _moment(at)

    def load(s: MasterDataUnitOfWork) -> Record:
        found = reads.attribution(s, vehicle_id, moment)
        answer = {**vars(found), "vehicle_id": vehicle_id, "at": moment}
        return released(ATTRIBUTION, answer)

    return respond(gate.one(reading, ATTRIBUTION.view, load, vehicle_id=vehicle_id))


# --- fleets, contracts and payments -----------------------------------------------------------

standard(
    router,
    FLEET,
    "fleets",
    FLEET_ID,
    write=lambda svc, b: svc.create_fleet(b.name, b.country),
    load=reads.fleet,
)
standard(
    router,
    CONTRACT,
    "contracts",
    CONTRACT_ID,
    write=lambda svc, b: svc.conclude_contract(
        b.customer_id, b.vehicle_id, b.start, b.services, b.end
    ),
    load=reads.contract,
    patch=MasterDataService.update_contract,
)


def _record_payment(svc: MasterDataService, body: Any) -> object:
    """The amount is stored in minor units (cents): exact, from the request's decimal."""
    method = PaymentMethod(body.method.kind, body.method.details)
    amount_minor = int(body.amount.scaleb(2))
    return svc.record_payment(
        body.customer_id, amount_minor, body.currency, body.booked_at, method, body.contract_id
    )


standard(
    router,
    PAYMENT,
    "payments",
    PAYMENT_ID,
    write=_record_payment,
    load=reads.payment,
    create_name="record_payment",
)
