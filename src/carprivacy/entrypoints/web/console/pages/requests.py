"""Data-subject requests with their deadlines (SPEC R7; Art. 12(3) GDPR): open ones first (the
overdue, then the nearly due, then the earliest due), a timeline chart from receipt to due date
and extended due date, and a table of the same. Read through ``Services.requests_overview``;
requests are shown by id and kind, never by person."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from carprivacy.entrypoints.web.console.charts import timeline_chart
from carprivacy.entrypoints.web.console.context import (
    Officer,
    language,
    render,
    services_of,
    signed_in,
)
from carprivacy.entrypoints.web.console.messages import message
from carprivacy.services.oversight.requests import MAX_SHOWN, request_lines, tally

router = APIRouter()
CHARTED = 40  # the chart shows the first 40 lines (the most urgent); the table shows all
LEGEND = ("on_time", "nearly_due", "overdue", "closed", "extension", "today")


@router.get("/requests")
async def requests_page(request: Request, officer: Officer = Depends(signed_in)) -> Response:
    services = services_of(request)
    lang = language(request)
    now = services.retention.clock()
    found = await run_in_threadpool(services.requests_overview.requests, officer.caller, MAX_SHOWN)
    lines = request_lines(found, now)
    chart = (
        timeline_chart(
            message("requests_timeline", lang),
            lines[:CHARTED],
            now,
            [message(k, lang) for k in LEGEND],
            lambda kind: message(f"kind_{kind}", lang),
        )
        if lines
        else None
    )
    return render(request, "requests.html", lines=lines, tally=tally(lines), chart=chart, now=now)
