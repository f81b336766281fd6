"""``GET /v1/me`` and ``/v1/me/...``: a person's own data, read by the person (SPEC R1, U1-U3).

The right of access is the purpose: these routes take no ``purpose``, name no subject (the
caller's own, from its login) and reach no one else's data. Every read passes the gate under the
access right (``services/access/own_data.py``), decided and audited as such; a former customer
(contract ended) keeps it. Routes only turn requests into calls and answers into bytes.

- ``/v1/me``: who the caller is and where their data is;
- ``/v1/me/held``: what is held, for which purposes on which legal basis, by which controller,
  shared with which recipients, kept until when;
- ``/v1/me/customer``, ``/accounts``, ``/contracts``, ``/payments``, ``/vehicles``, ``/usages``:
  the records;
- ``/v1/me/consents``: the consent, objection and restriction history (``format=json|csv``);
- ``/v1/me/telemetry``: the telemetry attributed to the person, with the cursor and stream
  options of ``/v1/vehicles/{id}/telemetry``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from carprivacy.domain.access import Caller
from carprivacy.entrypoints.api.auth import get_caller
from carprivacy.entrypoints.api.deps import get_own_data
from carprivacy.entrypoints.api.release import respond
from carprivacy.entrypoints.api.resource_routes import released
from carprivacy.entrypoints.api.routes.telemetry_reads import (
    CURSOR,
    FORMAT,
    FROM,
    LIMIT,
    RESPONSES,
    SIGNALS,
    TO,
    Format,
    signal_list,
    streamed,
)
from carprivacy.entrypoints.api.schemas.master import (
    ACCOUNT,
    CONTRACT,
    CUSTOMER,
    PAYMENT,
    USAGE,
    VEHICLE,
)
from carprivacy.entrypoints.api.schemas.resource import Resource
from carprivacy.services.access.gate import Record
from carprivacy.services.access.own_data import OwnData
from carprivacy.services.access.telemetry import TelemetryQuery
from carprivacy.services.master import reads
from carprivacy.services.master.ports import MasterDataUnitOfWork

router = APIRouter(prefix="/v1/me", tags=["my data"])

PARTS = ("held", "customer", "accounts", "contracts", "payments", "vehicles", "usages")


def _action(request: Request) -> str:
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', None) or request.url.path}"[:120]


@router.get("")
def me(caller: Caller = Depends(get_caller)) -> dict[str, Any]:
    """Who the caller is; a customer login also gets the addresses of their own data (the
    subject id itself is in ``/v1/me/customer``, a decided read)."""
    links = {p: f"/v1/me/{p}" for p in (*PARTS, "consents", "telemetry")}
    return {
        "caller": caller.id,
        "role": caller.role.value,
        "organisation": caller.organisation,
        "data_subject": caller.subject_id is not None,
        "links": links if caller.subject_id else {},
    }


@router.get("/held")
def held(
    request: Request,
    caller: Caller = Depends(get_caller),
    own: OwnData = Depends(get_own_data),
) -> Response:
    """What is held about the caller (Art. 15(1)): per category of the policy, whether records
    are held, its purposes, legal bases, controllers, recipients and retention."""
    return respond(own.held(caller, _action(request)))


@router.get("/customer", response_model=CUSTOMER.Released)
def my_customer(
    request: Request,
    caller: Caller = Depends(get_caller),
    own: OwnData = Depends(get_own_data),
) -> Response:
    """The caller's customer record (contact data)."""

    def load(s: MasterDataUnitOfWork, subject: str) -> Record:
        return released(CUSTOMER, reads.customer(s, subject))

    return respond(own.one(caller, _action(request), CUSTOMER.view, load))


def _records(
    path: str,
    resource: Resource,
    name: str,
    load: Callable[[MasterDataUnitOfWork, str], Iterable[object]],
    doc: str,
) -> None:
    def endpoint(
        request: Request,
        caller: Caller = Depends(get_caller),
        own: OwnData = Depends(get_own_data),
    ) -> Response:
        def loader(s: MasterDataUnitOfWork, subject: str) -> Iterable[Record]:
            return (released(resource, x, subject) for x in load(s, subject))

        return respond(own.of(caller, _action(request), resource.view, loader))

    endpoint.__name__ = name
    endpoint.__doc__ = doc
    router.add_api_route(
        path,
        endpoint,
        methods=["GET"],
        response_model=list[resource.Released],  # type: ignore[name-defined]
    )


def _vehicles(s: MasterDataUnitOfWork, subject: str) -> Iterable[object]:
    """Every vehicle the person owned or drove (a former owner's too)."""
    usages = reads.usages_of_customer(s, subject)
    return [reads.vehicle(s, v) for v in dict.fromkeys(u.vehicle_id for u in usages)]


for _path, _resource, _name, _load, _doc in (
    ("/accounts", ACCOUNT, "my_accounts", reads.accounts_of, "The caller's accounts."),
    ("/contracts", CONTRACT, "my_contracts", reads.contracts_of, "The caller's contracts."),
    ("/payments", PAYMENT, "my_payments", reads.payments_of, "The caller's payments."),
    ("/vehicles", VEHICLE, "my_vehicles", _vehicles, "Every vehicle the caller owned or drove."),
    (
        "/usages",
        USAGE,
        "my_usages",
        reads.usages_of_customer,
        "The caller's periods as owner or driver of a vehicle.",
    ),
):
    _records(_path, _resource, _name, _load, _doc)


@router.get("/consents")
def my_consents(
    request: Request,
    format: Literal["json", "csv"] = Query("json", description="json or csv"),
    caller: Caller = Depends(get_caller),
    own: OwnData = Depends(get_own_data),
) -> Response:
    """The caller's consents, withdrawals, objections and restrictions, oldest first (C4)."""
    text = own.consents(caller, _action(request), format)
    if format == "csv":
        return Response(text, media_type="text/csv; charset=utf-8")
    return Response(text, media_type="application/json")


@router.get("/telemetry", responses=RESPONSES)
async def my_telemetry(
    request: Request,
    start: datetime | None = FROM,
    end: datetime | None = TO,
    signals: str | None = SIGNALS,
    cursor: str | None = CURSOR,
    limit: int = LIMIT,
    format: Format = FORMAT,
    caller: Caller = Depends(get_caller),
    own: OwnData = Depends(get_own_data),
) -> Any:
    """The telemetry attributed to the caller over a period (a page, or streamed)."""
    query = TelemetryQuery(start=start, end=end, signals=signal_list(signals))
    action = _action(request)
    if format is Format.JSON:
        page = await run_in_threadpool(own.telemetry_page, caller, action, query, cursor, limit)
        return respond({"items": page.items, "next_cursor": page.next_cursor, "limit": limit})
    values = await run_in_threadpool(own.telemetry_stream, caller, action, query, cursor)
    return streamed(values, format)
