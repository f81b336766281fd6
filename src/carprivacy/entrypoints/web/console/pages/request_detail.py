"""One data-subject request as the privacy officer handles it (SPEC R1-R8; Art. 12, 15-21
GDPR): its kind, state, deadline and standing, every change with who, when and why, and what it
asks and what was done as the request service shows them to the officer (each read decided and
recorded by the gate under the right of access). Forms verify the requester (staff-recorded
evidence, an e-mail code sent or the code the person gave back), extend the deadline, carry the
request out (optionally in part, with the reason) or refuse it: each through the rights services
with the logged-in officer as the caller; a refusal of the workflow is a page naming the field
and rule."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from carprivacy.domain.request_deadlines import MAX_REASON
from carprivacy.domain.request_workflow import RequestState
from carprivacy.entrypoints.web.console.context import (
    PREFIX,
    Officer,
    redirect,
    render,
    services_of,
    signed_in,
)
from carprivacy.services.rights.requests import MAX_EVIDENCE

router = APIRouter()
MAX_ID = 64
MAX_NOTE = 2000
DONE = ("verified", "code_sent", "extended", "completed", "refused")


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _pairs(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [(str(k), _shown(v)) for k, v in values.items()]


@router.get("/requests/{request_id}")
async def request_page(
    request: Request,
    request_id: str,
    officer: Officer = Depends(signed_in),
    done: str = Query("", max_length=16),
) -> Response:
    rights = services_of(request).rights
    stored = await run_in_threadpool(rights.requests.read, officer.caller, request_id[:MAX_ID])
    r = stored.request
    now = rights.requests.clock()
    return render(
        request,
        "request.html",
        stored=stored,
        r=r,
        standing=r.standing(now),
        details=_pairs(stored.details),
        outcome=_pairs({k: v for k, v in stored.outcome.items() if k != "told"}),
        told=list(stored.outcome.get("told", [])),
        received=r.state is RequestState.RECEIVED,
        workable=r.state in (RequestState.VERIFIED, RequestState.IN_PROGRESS),
        open=not r.state.final,
        code_pending=stored.code is not None,
        done=done if done in DONE else "",
        max_reason=MAX_REASON,
        max_evidence=MAX_EVIDENCE,
        max_note=MAX_NOTE,
    )


def _back(request_id: str, done: str) -> Response:
    return redirect(f"{PREFIX}/requests/{request_id}?done={done}")


@router.post("/requests/{request_id}/verify")
async def verify(
    request: Request,
    request_id: str,
    officer: Officer = Depends(signed_in),
    method: str = Form(..., max_length=32),
    evidence: str = Form("", max_length=MAX_EVIDENCE + 1),
    code: str = Form("", max_length=16),
) -> Response:
    requests = services_of(request).rights.requests
    if method == "send_code":
        await run_in_threadpool(requests.send_code, officer.caller, request_id)
        return _back(request_id, "code_sent")
    await run_in_threadpool(
        lambda: requests.verify(
            officer.caller,
            request_id,
            method,
            code=code.strip() or None,
            evidence=evidence,
        )
    )
    return _back(request_id, "verified")


@router.post("/requests/{request_id}/extend")
async def extend(
    request: Request,
    request_id: str,
    officer: Officer = Depends(signed_in),
    months: int = Form(...),
    reason: str = Form("", max_length=MAX_REASON + 1),
) -> Response:
    requests = services_of(request).rights.requests
    await run_in_threadpool(requests.extend, officer.caller, request_id, months, reason)
    return _back(request_id, "extended")


@router.post("/requests/{request_id}/complete")
async def complete(
    request: Request,
    request_id: str,
    officer: Officer = Depends(signed_in),
    partial_reason: str = Form("", max_length=MAX_REASON),
    note: str = Form("", max_length=MAX_NOTE),
) -> Response:
    fulfilment = services_of(request).rights.fulfilment
    await run_in_threadpool(
        lambda: fulfilment.complete(
            officer.caller,
            request_id,
            partial_reason=partial_reason.strip() or None,
            note=note.strip(),
        )
    )
    return _back(request_id, "completed")


@router.post("/requests/{request_id}/refuse")
async def refuse(
    request: Request,
    request_id: str,
    officer: Officer = Depends(signed_in),
    reason: str = Form("", max_length=MAX_REASON + 1),
) -> Response:
    requests = services_of(request).rights.requests
    await run_in_threadpool(requests.refuse, officer.caller, request_id, reason)
    return _back(request_id, "refused")
