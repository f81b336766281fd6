"""``/v1/me/cardata/shares``: a customer's CarData shares with third parties (SPEC C2, U2;
Data Act Art. 4-6): made in one step, listed with their state, terms and history, revoked at
any time; and the answer to a third party's device code (its share request). Only a customer
login reaches these. The portal's pages call the same services."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, status

from carprivacy.domain.access import Caller, Role
from carprivacy.entrypoints.api.auth import require_role
from carprivacy.entrypoints.api.deps import get_sharing
from carprivacy.entrypoints.api.errors import ErrorAnswer
from carprivacy.entrypoints.api.schemas.shares import (
    ShareApprovalIn,
    ShareApprovalOut,
    ShareIn,
    ShareOut,
    ShareRequestIn,
    ShareRequestOut,
)
from carprivacy.services.cardata.sharing import Sharing

router = APIRouter(prefix="/v1/me/cardata", tags=["my CarData"])
CUSTOMER = require_role(Role.CUSTOMER)
UNKNOWN: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorAnswer, "description": "no share of yours has this id"},
}
LIMITED: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorAnswer, "description": "the user code is unknown, expired or answered"},
    429: {"model": ErrorAnswer, "description": "too many attempts: Retry-After says when"},
}


@router.get("/shares", response_model=list[ShareOut])
def my_shares(
    caller: Caller = Depends(CUSTOMER), sharing: Sharing = Depends(get_sharing)
) -> list[ShareOut]:
    """The caller's shares, with their state now and their terms."""
    return [ShareOut.of(v) for v in sharing.shares.shares_of(caller)]


@router.post("/shares", response_model=ShareOut, status_code=status.HTTP_201_CREATED)
def create_share(
    body: ShareIn, caller: Caller = Depends(CUSTOMER), sharing: Sharing = Depends(get_sharing)
) -> ShareOut:
    """Share one vehicle's data with one registered third party: descriptors or categories,
    the agreed purpose, the period (default: from now, one year)."""
    made = sharing.shares.create(
        caller,
        vehicle_id=body.vehicle_id,
        party=body.party,
        purpose=body.purpose,
        agreed_purpose=body.agreed_purpose,
        descriptors=body.descriptors,
        categories=body.categories,
        valid_from=body.valid_from,
        valid_until=body.valid_until,
    )
    return ShareOut.of(made, sharing.shares.history(caller, made.share.id))


@router.get("/shares/{share_id}", response_model=ShareOut, responses=UNKNOWN)
def my_share(
    share_id: str, caller: Caller = Depends(CUSTOMER), sharing: Sharing = Depends(get_sharing)
) -> ShareOut:
    """One share with its terms and its history (who, when, why)."""
    view = sharing.shares.share(caller, share_id)
    return ShareOut.of(view, sharing.shares.history(caller, share_id))


@router.post("/shares/{share_id}/revocation", response_model=ShareOut, responses=UNKNOWN)
def revoke_share(
    share_id: str, caller: Caller = Depends(CUSTOMER), sharing: Sharing = Depends(get_sharing)
) -> ShareOut:
    """Revoke a share now: the third party receives nothing more from this moment."""
    view = sharing.shares.revoke(caller, share_id)
    return ShareOut.of(view, sharing.shares.history(caller, share_id))


@router.post("/share-requests", response_model=ShareRequestOut, responses=LIMITED)
def share_request(
    body: ShareRequestIn,
    caller: Caller = Depends(CUSTOMER),
    sharing: Sharing = Depends(get_sharing),
) -> ShareRequestOut:
    """What a third party's user code asks for: the party, the purpose, the descriptors, the
    period and the terms."""
    return ShareRequestOut.of(sharing.approvals.lookup(caller, body.user_code))


@router.post("/share-approvals", response_model=ShareApprovalOut, responses=LIMITED)
def answer_share_request(
    body: ShareApprovalIn,
    caller: Caller = Depends(CUSTOMER),
    sharing: Sharing = Depends(get_sharing),
) -> ShareApprovalOut:
    """Approve a third party's user code for one of your vehicles (the share is made), or deny
    it (``approve: false``)."""
    made = sharing.approvals.answer(caller, body.user_code, body.approve, body.vehicle_id)
    if made is None:
        return ShareApprovalOut(status="denied")
    history = sharing.shares.history(caller, made.share.id)
    return ShareApprovalOut(status="approved", share=ShareOut.of(made, history))
