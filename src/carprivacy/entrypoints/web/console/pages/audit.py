"""The audit log (SPEC U3): its integrity, checked as ``carprivacy audit verify`` checks it
(every entry streamed against the signed checkpoints and the witness's heads, in memory that does
not grow with the log); the latest entries (pseudonymous subject and vehicle references only);
the access alerts of monitoring, each acknowledged with a note as ``POST /v1/alerts/{id}/ack``
does (appended: earlier acknowledgements stay)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from carprivacy.entrypoints.web.console.context import (
    PREFIX,
    Officer,
    redirect,
    render,
    services_of,
    signed_in,
)
from carprivacy.services.audit.monitoring import MAX_NOTE, AlertQuery
from carprivacy.services.audit.trail import AuditQuery, AuditService

router = APIRouter()
RECENT = 50
ALERTS = 100


def shown_caller(audit: AuditService, caller_id: str) -> str:
    """A caller id as shown: one that names a data subject (``customer:<subject id>``, as a
    person's own choices are recorded) shows the subject's keyed pseudonym instead."""
    kind, sep, rest = caller_id.partition(":")
    if sep and kind == "customer" and rest:
        return f"customer:{audit.subject_ref(rest)}"
    return caller_id


@router.get("/audit")
async def audit_page(
    request: Request, officer: Officer = Depends(signed_in), done: str = ""
) -> Response:
    services = services_of(request)

    def read() -> dict[str, Any]:
        audit = services.audit
        verification = audit.verify()
        head = audit.repository.head()
        last = head[0] if head else 0
        entries = audit.find(AuditQuery(after_seq=max(last - RECENT, 0), limit=RECENT))
        alerts = services.monitoring.alerts(AlertQuery(limit=ALERTS))
        return {
            "caller": lambda caller_id: shown_caller(audit, caller_id),
            "verification": verification,
            "entries": entries[::-1],
            "last_seq": last,
            "alerts": alerts,
        }

    data = await run_in_threadpool(read)
    return render(request, "audit.html", done=done == "acknowledged", max_note=MAX_NOTE, **data)


@router.post("/audit/alerts/ack")
async def acknowledge(
    request: Request,
    officer: Officer = Depends(signed_in),
    alert_id: str = Form(..., max_length=128),
    note: str = Form("", max_length=MAX_NOTE),
) -> Response:
    monitoring = services_of(request).monitoring
    await run_in_threadpool(monitoring.acknowledge, alert_id, officer.caller, note)
    return redirect(f"{PREFIX}/audit?done=acknowledged#alerts")
