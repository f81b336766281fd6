"""Approving a CarData device (SPEC C1, C2; RFC 8628 section 3.3): the person types the user code
their CarData client shows (or arrives with it from ``verification_uri_complete``), sees which
client asks for which scopes, and approves or denies. The answer is the CarData authorisation
service's own (``CarDataAuthorisation.answer``): an unknown, expired, answered or another
person's code is one "not found", guesses are counted in the shared store."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response

from carprivacy.domain.errors import InvalidInputError, NotFoundError, Problem
from carprivacy.entrypoints.web.context import (
    PREFIX,
    Customer,
    redirect,
    render,
    services_of,
    signed_in,
)
from carprivacy.entrypoints.web.pages.shares import shareable

router = APIRouter()


@router.get("/cardata/device")
def device(
    request: Request,
    user_code: str = Query("", max_length=16, description="The code the client shows."),
    customer: Customer = Depends(signed_in),
) -> Response:
    return render(request, "device.html", user_code=user_code, answered=None, denied=None)


@router.post("/cardata/device")
def answer(
    request: Request,
    user_code: str = Form(..., min_length=1, max_length=16),
    choice: str = Form(..., pattern="^(approve|deny)$"),
    customer: Customer = Depends(signed_in),
) -> Response:
    """Approve or deny the grant that ``user_code`` names; a third party's code shows what it
    asks to share first (:func:`share_request`)."""
    s = services_of(request)
    try:
        answered = s.cardata.answer(customer.caller, user_code, approve=choice == "approve")
    except NotFoundError:
        # not one of the person's own clients: a third party's share request, or unknown
        pending = s.sharing.approvals.lookup(customer.caller, user_code, count=False)
        if choice == "deny":
            s.sharing.approvals.answer(customer.caller, user_code, False, None, count=False)
            return render(
                request, "device.html", user_code="", answered=None, denied=pending.party_name
            )
        return render(
            request,
            "share_request.html",
            pending=pending,
            user_code=user_code,
            vehicles=shareable(request, customer),
        )
    return render(
        request,
        "device.html",
        user_code="",
        answered=answered,
        scopes=sorted(answered.scopes),
        approved=choice == "approve",
    )


@router.post("/cardata/device/share")
def share_request(
    request: Request,
    user_code: str = Form(..., min_length=1, max_length=16),
    choice: str = Form(..., pattern="^(approve|deny)$"),
    vehicle: int = Form(0, ge=0, le=1000),
    customer: Customer = Depends(signed_in),
) -> Response:
    """Approve a third party's request for one of the person's vehicles (the share is made),
    or deny it."""
    approvals = services_of(request).sharing.approvals
    if choice == "deny":
        pending = approvals.lookup(customer.caller, user_code)
        approvals.answer(customer.caller, user_code, False, None, count=False)
        return render(
            request, "device.html", user_code="", answered=None, denied=pending.party_name
        )
    vehicles = shareable(request, customer)
    if vehicle >= len(vehicles):
        raise InvalidInputError([Problem("vehicle", "yours", "a vehicle you own or drive now")])
    made = approvals.answer(customer.caller, user_code, True, str(vehicles[vehicle]["_id"]))
    assert made is not None
    return redirect(f"{PREFIX}/shares/{made.share.id}?saved=shared")
