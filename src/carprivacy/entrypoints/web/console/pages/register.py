"""The record of processing activities (Art. 30(1) GDPR, SPEC P7) as ``carprivacy policy
register`` renders it, one row per purpose, in the page's language; and policy validation: the
policy in force, and every problem the loader finds in the policy file as it is on disk now
(as ``carprivacy policy check`` lists them: YAML path, rule, message)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from carprivacy.domain.errors import PolicyError, Problem
from carprivacy.entrypoints.web.console.context import (
    Officer,
    language,
    render,
    services_of,
    signed_in,
)

router = APIRouter()
COLUMNS = (
    "purpose",
    "section",
    "legal_basis",
    "data_subjects",
    "personal_data",
    "form",
    "recipients",
    "transfers",
    "retention",
    "consent_topic",
)


@router.get("/register")
async def register_page(request: Request, officer: Officer = Depends(signed_in)) -> Response:
    services = services_of(request)
    lang = language(request)
    rows = services.documents.register_rows(services.policy, lang)
    names = {p.id: p.name.get(lang) for p in services.policy.purposes}
    return render(
        request, "register.html", rows=rows, columns=COLUMNS, names=names, policy=services.policy
    )


@router.get("/policy")
async def policy_page(request: Request, officer: Officer = Depends(signed_in)) -> Response:
    services = services_of(request)
    path = services.settings.policy_path

    def check() -> tuple[bool, list[Problem]]:
        documents = services.documents
        try:
            text = documents.read(path)
        except PolicyError as exc:
            return False, list(exc.problems)
        checked, problems = documents.check(text, str(path))
        return checked is not None, problems

    valid, problems = await run_in_threadpool(check)
    return render(
        request,
        "policy.html",
        policy=services.policy,
        file=path.name,
        valid=valid,
        problems=problems,
    )
