"""My data (SPEC R1, C4): what is held about the person, per category, with its purposes, legal
bases, controllers, recipients and retention (``GET /v1/me/held``'s statement), and the history of
their choices with its JSON and CSV evidence export (``GET /v1/me/consents``); both through
``OwnData``: decided and audited under the right of access."""

from __future__ import annotations

import json
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from carprivacy.entrypoints.api.release import encoded
from carprivacy.entrypoints.web.context import Customer, render, signed_in
from carprivacy.entrypoints.web.pages.vehicles import own_data

router = APIRouter()


@router.get("/my-data")
def my_data(request: Request, customer: Customer = Depends(signed_in)) -> Response:
    own = own_data(request)
    held = own.held(customer.caller, "GET /portal/my-data")
    history = json.loads(own.consents(customer.caller, "GET /portal/my-data", "json"))
    recipients = {
        r["id"]: r
        for c in held["categories"]  # type: ignore[attr-defined]
        for r in c["recipients"]
    }
    return render(
        request,
        "my_data.html",
        held=held,
        entries=list(reversed(history["entries"])),
        recipients=recipients,
    )


@router.get("/my-data/held.json")
def held_export(request: Request, customer: Customer = Depends(signed_in)) -> Response:
    own = own_data(request)
    body = encoded(own.held(customer.caller, "GET /portal/my-data/held.json"))
    return Response(
        body,
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="my-data.json"'},
    )


@router.get("/my-data/history")
def history_export(
    request: Request,
    format: Literal["csv", "json"] = Query("csv"),
    customer: Customer = Depends(signed_in),
) -> Response:
    own = own_data(request)
    text = own.consents(customer.caller, "GET /portal/my-data/history", format)
    media = "text/csv; charset=utf-8" if format == "csv" else "application/json"
    return Response(
        text,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="consent-history.{format}"'},
    )
