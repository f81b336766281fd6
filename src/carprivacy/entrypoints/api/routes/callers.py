"""Administration of callers: create, list, disable and enable."""

from __future__ import annotations

from fastapi import APIRouter, Depends, status

from carprivacy.domain.access import Caller, Role
from carprivacy.entrypoints.api.auth import require_role
from carprivacy.entrypoints.api.deps import get_callers
from carprivacy.entrypoints.api.schemas.access import CallerIn, CallerOut
from carprivacy.services.identity.callers import CallerService

router = APIRouter(prefix="/v1/callers", tags=["callers"])
admin = require_role(Role.ADMINISTRATOR)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CallerOut)
def create_caller(
    body: CallerIn, _: Caller = Depends(admin), callers: CallerService = Depends(get_callers)
) -> CallerOut:
    record, secret = callers.create(
        caller_id=body.id,
        name=body.name,
        kind=body.kind,
        role=body.role,
        organisation=body.organisation,
        scopes=body.scopes,
        email=body.email,
        subject_id=body.subject_id,
        fleet_id=body.fleet_id,
        password=body.password,
        generate_secret=body.generate_secret,
    )
    return CallerOut.of(record, secret, created=True)


@router.get("", response_model=list[CallerOut])
def list_callers(
    _: Caller = Depends(admin), callers: CallerService = Depends(get_callers)
) -> list[CallerOut]:
    return [CallerOut.of(r) for r in callers.list()]


@router.post("/{caller_id}/disable", response_model=CallerOut)
def disable_caller(
    caller_id: str, _: Caller = Depends(admin), callers: CallerService = Depends(get_callers)
) -> CallerOut:
    return CallerOut.of(callers.set_disabled(caller_id, True))


@router.post("/{caller_id}/enable", response_model=CallerOut)
def enable_caller(
    caller_id: str, _: Caller = Depends(admin), callers: CallerService = Depends(get_callers)
) -> CallerOut:
    return CallerOut.of(callers.set_disabled(caller_id, False))


@router.post("/{caller_id}/secret", response_model=CallerOut)
def rotate_secret(
    caller_id: str, _: Caller = Depends(admin), callers: CallerService = Depends(get_callers)
) -> CallerOut:
    """A new client secret for a machine caller (shown once); the old one stops working."""
    secret = callers.rotate_secret(caller_id)
    return CallerOut.of(callers.get(caller_id), secret)
