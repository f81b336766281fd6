"""Log in and out: the password login of ``POST /v1/auth/login`` through the same caller service
(its throttle in the database: 10 attempts per login name in 5 minutes); only the privacy
officer enters, every other role is refused with the rule. The login name and password travel
in the form's body, never in the URL, and are not logged."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from carprivacy.domain.errors import AuthenticationError
from carprivacy.entrypoints.web.console.context import (
    PREFIX,
    keep,
    language,
    redirect,
    refusal,
    render,
    session,
    sessions_of,
)

router = APIRouter()
MAX_FIELD = 256


@router.get("/login")
def login_page(request: Request, bye: int = 0) -> Response:
    session(request)  # the anonymous session whose id keys the form's CSRF token
    return render(request, "login.html", error=None, reasons=[], bye=bool(bye))


@router.post("/login")
async def login(
    request: Request,
    login: str = Form(..., max_length=MAX_FIELD),
    password: str = Form(..., max_length=MAX_FIELD),
) -> Response:
    sessions = sessions_of(request)
    try:
        started = await run_in_threadpool(sessions.login, login.strip(), password)
        caller, _ = await run_in_threadpool(sessions.caller, started)
    except AuthenticationError as exc:
        return render(request, "login.html", 401, error=str(exc), reasons=[], bye=False)
    refused = refusal(caller, language(request))
    if refused is not None:
        return render(
            request, "login.html", 403, error=str(refused), reasons=list(refused.reasons), bye=False
        )
    keep(request, started)  # a new session id: never the one the form was shown under
    return redirect(f"{PREFIX}/")


@router.post("/logout")
def logout(request: Request) -> Response:
    keep(request, None)
    request.state.login_ended = True
    return redirect(f"{PREFIX}/login?bye=1")
