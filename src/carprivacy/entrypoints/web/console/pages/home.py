"""The overview: what needs the officer's attention (requests nearly due or overdue, alerts not
acknowledged, active legal holds, the last retention run) and where each part is."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from carprivacy.entrypoints.web.console.context import Officer, render, services_of, signed_in
from carprivacy.services.audit.monitoring import AlertQuery
from carprivacy.services.oversight.requests import MAX_SHOWN, request_lines, tally

router = APIRouter()


@router.get("/")
async def home(request: Request, officer: Officer = Depends(signed_in)) -> Response:
    services = services_of(request)

    def read() -> dict[str, Any]:
        now = services.retention.clock()
        lines = request_lines(services.requests_overview.requests(officer.caller, MAX_SHOWN), now)
        runs = services.retention.runs(1)
        return {
            "requests": tally(lines),
            "alerts": len(services.monitoring.alerts(AlertQuery(acknowledged=False, limit=1000))),
            "holds": len(services.legal_holds.list(active_only=True)),
            "last_run": runs[0] if runs else None,
        }

    return render(request, "home.html", **await run_in_threadpool(read))
