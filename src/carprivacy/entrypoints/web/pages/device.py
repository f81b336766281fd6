"""Approving a CarData device (SPEC C1, C2; RFC 8628 section 3.3): the person types the user code
their CarData client shows (or arrives with it from ``verification_uri_complete``), sees which
client asks for which scopes, and approves or denies. The answer is the CarData authorisation
service's own (``CarDataAuthorisation.answer``): an unknown, expired, answered or another
person's code is one "not found", guesses are counted in the shared store."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response

from carprivacy.entrypoints.web.context import Customer, render, services_of, signed_in

router = APIRouter()


@router.get("/cardata/device")
def device(
    request: Request,
    user_code: str = Query("", max_length=16, description="The code the client shows."),
    customer: Customer = Depends(signed_in),
) -> Response:
    return render(request, "device.html", user_code=user_code, answered=None)


@router.post("/cardata/device")
def answer(
    request: Request,
    user_code: str = Form(..., min_length=1, max_length=16),
    choice: str = Form(..., pattern="^(approve|deny)$"),
    customer: Customer = Depends(signed_in),
) -> Response:
    """Approve or deny the grant that ``user_code`` names."""
    answered = services_of(request).cardata.answer(
        customer.caller, user_code, approve=choice == "approve"
    )
    return render(
        request,
        "device.html",
        user_code="",
        answered=answered,
        scopes=sorted(answered.scopes),
        approved=choice == "approve",
    )
