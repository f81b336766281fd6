"""Retention runs (SPEC L2): the latest runs with what each removed per table, category, rule
and action; and a dry run started from the page: what a run now would delete or anonymise,
changing nothing (no row, no run record, no audit entry), shown at once."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from carprivacy.entrypoints.web.console.context import (
    PREFIX,
    Officer,
    language,
    redirect,
    render,
    services_of,
    signed_in,
)
from carprivacy.services.retention.run import RetentionReport

router = APIRouter()
RUNS = 20


def _page(request: Request, report: RetentionReport | None) -> Response:
    services = services_of(request)
    lang = language(request)
    names = {c.id: c.name.get(lang) for c in services.policy.categories}
    runs = services.retention.runs(RUNS)
    return render(request, "retention.html", runs=runs, report=report, names=names)


@router.get("/retention")
async def retention_page(request: Request, officer: Officer = Depends(signed_in)) -> Response:
    return await run_in_threadpool(_page, request, None)


@router.post("/retention/dry-run")
async def dry_run(request: Request, officer: Officer = Depends(signed_in)) -> Response:
    """RetentionRunInProgressError (409, a page) while another run holds the lock."""
    retention = services_of(request).retention
    report = await run_in_threadpool(lambda: retention.run(dry_run=True))
    return await run_in_threadpool(_page, request, report)


@router.get("/retention/dry-run")
def dry_run_again(request: Request, officer: Officer = Depends(signed_in)) -> Response:
    """The dry run's address opened again (the language switch, a reload): its page, without
    running (a dry run starts from the button only)."""
    return redirect(f"{PREFIX}/retention")
