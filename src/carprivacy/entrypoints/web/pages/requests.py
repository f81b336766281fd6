"""My requests (SPEC R1-R8; Art. 12, 15-21): the person submits a request about their own data
(verified by their logged-in session), follows its state, deadline and history, and downloads
the copy or export once it is ready (streamed)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response, StreamingResponse

from carprivacy.domain.master import CONTACT_FIELDS
from carprivacy.domain.request_notices import KIND_NAMES
from carprivacy.domain.request_workflow import RequestKind
from carprivacy.domain.subject_state import RestrictionCase
from carprivacy.entrypoints.web.context import (
    PREFIX,
    Customer,
    language,
    redirect,
    render,
    services_of,
    signed_in,
)
from carprivacy.services.rights.ports import RequestFilter

router = APIRouter()
CHANNEL = "portal"


def _details(
    kind: str, field: str, value: str, case: str, purpose: str, endpoint: str, grounds: str
) -> dict[str, Any]:
    if kind == RequestKind.RECTIFICATION.value:
        return {"changes": {field: value}}
    if kind == RequestKind.RESTRICTION.value:
        return {"case": case}
    if kind == RequestKind.OBJECTION.value:
        if purpose in ("", "marketing"):
            return {"marketing": True, "grounds": grounds}
        return {"purpose": purpose, "grounds": grounds}
    if kind == RequestKind.PORTABILITY.value and endpoint:
        return {"endpoint": endpoint}
    return {}


@router.get("/requests")
def my_requests(
    request: Request,
    sent: str | None = Query(None, max_length=64),
    customer: Customer = Depends(signed_in),
) -> Response:
    rights = services_of(request).rights
    lang = language(request)
    found = rights.requests.find(customer.caller, RequestFilter(subject_id=customer.subject_id))
    now = rights.requests.clock()
    objectable = [
        p
        for p in services_of(request).policy.purposes
        if p.legal_basis.value == "legitimate_interest" and not p.is_marketing
    ]
    return render(
        request,
        "requests.html",
        requests=[(s, s.request.standing(now)) for s in found],
        kinds=[(k.value, KIND_NAMES[lang][k]) for k in RequestKind],
        kind_names={k.value: KIND_NAMES[lang][k] for k in RequestKind},
        fields=CONTACT_FIELDS,
        cases=[c.value for c in RestrictionCase],
        purposes=objectable,
        sent=sent,
    )


@router.post("/requests")
def submit(
    request: Request,
    kind: str = Form(..., max_length=16),
    field: str = Form("", max_length=32),
    value: str = Form("", max_length=200),
    case: str = Form("", max_length=40),
    purpose: str = Form("", max_length=64),
    endpoint: str = Form("", max_length=500),
    grounds: str = Form("", max_length=2000),
    customer: Customer = Depends(signed_in),
) -> Response:
    rights = services_of(request).rights
    stored = rights.requests.submit(
        customer.caller,
        kind,
        channel=CHANNEL,
        details=_details(kind, field, value, case, purpose, endpoint, grounds),
        language=language(request),
    )
    return redirect(f"{PREFIX}/requests/{stored.request.id}?sent=1")


@router.get("/requests/{request_id}")
def my_request(
    request: Request,
    request_id: str,
    sent: str | None = Query(None, max_length=8),
    customer: Customer = Depends(signed_in),
) -> Response:
    rights = services_of(request).rights
    stored = rights.requests.read(customer.caller, request_id)
    lang = language(request)
    r = stored.request
    downloadable = r.kind in (RequestKind.ACCESS, RequestKind.PORTABILITY) and r.state.value in (
        "completed",
        "partially_refused",
    )
    formats = ("json", "csv", "html") if r.kind is RequestKind.ACCESS else ("json", "csv")
    return render(
        request,
        "request.html",
        stored=stored,
        r=r,
        name=KIND_NAMES[lang][r.kind],
        standing=r.standing(rights.requests.clock()),
        history=[(h, h.by if h.by == customer.caller.id else "staff") for h in r.history],
        downloadable=downloadable,
        formats=formats,
        sent=bool(sent),
    )


@router.get("/requests/{request_id}/download")
def download(
    request: Request,
    request_id: str,
    format: str = Query("json", max_length=8),
    customer: Customer = Depends(signed_in),
) -> Response:
    rights = services_of(request).rights
    export = rights.fulfilment.download(customer.caller, request_id, format, language(request))
    return StreamingResponse(
        export,
        media_type=export.media_type,
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
    )
