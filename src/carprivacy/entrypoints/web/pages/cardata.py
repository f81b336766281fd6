"""My CarData clients (SPEC C1, C2): create a client id with its scopes, list and delete them.
The answers are the CarData authorisation service's own (``create_client``, ``clients``,
``delete_client``), as ``/v1/me/cardata/clients`` gives them; a client id is named in a form
field, never in a URL."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from carprivacy.domain.cardata import API_READ, STREAM_READ
from carprivacy.entrypoints.web.context import (
    PREFIX,
    Customer,
    redirect,
    render,
    services_of,
    signed_in,
)

router = APIRouter()
SCOPES = ((API_READ, "scope_api"), (STREAM_READ, "scope_stream"))


def _page(request: Request, customer: Customer, **context: Any) -> Response:
    clients = services_of(request).cardata.clients(customer.caller)
    return render(request, "cardata_clients.html", clients=clients, scopes=SCOPES, **context)


@router.get("/cardata/clients")
def clients(
    request: Request, deleted: int = 0, customer: Customer = Depends(signed_in)
) -> Response:
    return _page(request, customer, made=None, deleted=bool(deleted))


@router.post("/cardata/clients")
def create(
    request: Request,
    name: str = Form(..., min_length=1, max_length=100),
    scope_api: str = Form("", max_length=16),
    scope_stream: str = Form("", max_length=16),
    customer: Customer = Depends(signed_in),
) -> Response:
    """A client id with the scopes ticked."""
    chosen = [s for s, ticked in ((API_READ, scope_api), (STREAM_READ, scope_stream)) if ticked]
    made = services_of(request).cardata.create_client(customer.caller, name, chosen)
    return _page(request, customer, made=made, deleted=False)


@router.post("/cardata/clients/delete")
def delete(
    request: Request,
    client_id: str = Form(..., min_length=1, max_length=64),
    customer: Customer = Depends(signed_in),
) -> Response:
    """Delete a client id: every token issued to it stops at once."""
    services_of(request).cardata.delete_client(customer.caller, client_id)
    return redirect(f"{PREFIX}/cardata/clients?deleted=1")
