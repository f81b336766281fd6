"""``/v1/me/cardata/...``: a customer's own CarData client ids and their answers to device
codes (SPEC C2, U1). The portal's pages call the same service. Only a customer login reaches
these (a CarData token does not: it opens the CarData API only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response, status

from carprivacy.domain.access import Caller, Role
from carprivacy.entrypoints.api.auth import require_role
from carprivacy.entrypoints.api.deps import get_cardata
from carprivacy.entrypoints.api.errors import ErrorAnswer
from carprivacy.entrypoints.api.schemas.cardata import (
    ClientIn,
    ClientOut,
    DeviceAnswerIn,
    DeviceAnswerOut,
)
from carprivacy.services.cardata.authorisation import CarDataAuthorisation

router = APIRouter(prefix="/v1/me/cardata", tags=["my CarData"])
CUSTOMER = require_role(Role.CUSTOMER)  # refused before a body is judged
LIMITED: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorAnswer, "description": "the user code is unknown, expired or answered"},
    429: {"model": ErrorAnswer, "description": "too many attempts: Retry-After says when"},
}


@router.get("/clients", response_model=list[ClientOut])
def my_clients(
    caller: Caller = Depends(CUSTOMER), cardata: CarDataAuthorisation = Depends(get_cardata)
) -> list[ClientOut]:
    """The caller's CarData client ids with their scopes."""
    return [ClientOut.of(c) for c in cardata.clients(caller)]


@router.post("/clients", response_model=ClientOut, status_code=status.HTTP_201_CREATED)
def create_client(
    body: ClientIn,
    caller: Caller = Depends(CUSTOMER),
    cardata: CarDataAuthorisation = Depends(get_cardata),
) -> ClientOut:
    """A new CarData client id with the scopes picked (cardata:api:read, cardata:streaming:read)."""
    return ClientOut.of(cardata.create_client(caller, body.name, body.scopes))


@router.delete("/clients/{client_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_client(
    client_id: str,
    caller: Caller = Depends(CUSTOMER),
    cardata: CarDataAuthorisation = Depends(get_cardata),
) -> Response:
    """Delete a client id: every token issued to it stops at once."""
    cardata.delete_client(caller, client_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/device-approvals", response_model=DeviceAnswerOut, responses=LIMITED)
def answer_device_code(
    body: DeviceAnswerIn,
    caller: Caller = Depends(CUSTOMER),
    cardata: CarDataAuthorisation = Depends(get_cardata),
) -> DeviceAnswerOut:
    """Approve (or, with ``approve: false``, deny) the device code a CarData client shows."""
    return DeviceAnswerOut.of(cardata.answer(caller, body.user_code, body.approve))
