"""Legal holds (SPEC L1; Art. 17(3)(e) GDPR): every hold, active first; place one on a subject,
a vehicle or both, optionally one category (a record set), with its reason; release one with
its reason. Through the legal-hold service (``carprivacy retention hold``): each audited, the
officer named as who placed or released it."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from carprivacy.domain.legal_holds import MAX_REASON
from carprivacy.entrypoints.web.console.context import (
    PREFIX,
    Officer,
    redirect,
    render,
    services_of,
    signed_in,
)

router = APIRouter()
MAX_ID = 64


@router.get("/holds")
async def holds_page(
    request: Request, officer: Officer = Depends(signed_in), done: str = ""
) -> Response:
    services = services_of(request)
    holds = await run_in_threadpool(services.legal_holds.list, False)
    holds.sort(key=lambda h: (not h.active, -h.created_at.timestamp()))
    categories = [(c.id, c.name) for c in services.policy.categories]
    return render(
        request,
        "holds.html",
        holds=holds,
        categories=categories,
        done=done if done in ("placed", "released") else "",
        max_reason=MAX_REASON,
    )


@router.post("/holds")
async def place_hold(
    request: Request,
    officer: Officer = Depends(signed_in),
    subject_id: str = Form("", max_length=MAX_ID),
    vehicle_id: str = Form("", max_length=MAX_ID),
    category: str = Form("", max_length=MAX_ID),
    reason: str = Form("", max_length=MAX_REASON),
) -> Response:
    holds = services_of(request).legal_holds
    await run_in_threadpool(
        lambda: holds.place(
            subject_id=subject_id.strip() or None,
            vehicle_id=vehicle_id.strip() or None,
            category=category.strip() or None,
            reason=reason,
            created_by=officer.id,
        )
    )
    return redirect(f"{PREFIX}/holds?done=placed")


@router.post("/holds/release")
async def release_hold(
    request: Request,
    officer: Officer = Depends(signed_in),
    hold_id: str = Form(..., max_length=MAX_ID),
    reason: str = Form("", max_length=MAX_REASON),
) -> Response:
    holds = services_of(request).legal_holds
    await run_in_threadpool(
        lambda: holds.release(hold_id.strip(), released_by=officer.id, reason=reason)
    )
    return redirect(f"{PREFIX}/holds?done=released")
