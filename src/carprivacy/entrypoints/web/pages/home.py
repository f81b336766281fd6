"""The overview: where each part of the portal is."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from carprivacy.entrypoints.web.context import Customer, render, signed_in

router = APIRouter()


@router.get("/")
def home(request: Request, customer: Customer = Depends(signed_in)) -> Response:
    return render(request, "home.html")
