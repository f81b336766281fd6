"""The console's errors as pages: what went wrong, named (the field and rule, the refusal's
reasons), never a stack trace; the status of each domain error is the API's."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from carprivacy.domain.errors import (
    AccessDeniedError,
    AuthenticationError,
    CarPrivacyError,
    NotFoundError,
)
from carprivacy.entrypoints.web.console.context import (
    CSRF_RULE,
    PREFIX,
    language,
    redirect,
    render,
)
from carprivacy.entrypoints.web.console.messages import message
from carprivacy.entrypoints.web.errors import problems_of, status_of

log = logging.getLogger("carprivacy.console")


def error_page(
    request: Request, status_code: int, detail: str, problems: list[str] | None = None
) -> Response:
    return render(
        request,
        "error.html",
        status_code,
        detail=detail,
        problems=problems or [],
        status=status_code,
    )


def register_page_errors(app: FastAPI) -> None:
    @app.exception_handler(AuthenticationError)
    async def _login(request: Request, _: AuthenticationError) -> Response:
        return redirect(f"{PREFIX}/login")

    @app.exception_handler(AccessDeniedError)
    async def _denied(request: Request, exc: AccessDeniedError) -> Response:
        detail = message("csrf", language(request)) if CSRF_RULE in exc.reasons else str(exc)
        return error_page(request, 403, detail, list(exc.reasons))

    @app.exception_handler(CarPrivacyError)
    async def _domain(request: Request, exc: CarPrivacyError) -> Response:
        if isinstance(exc, NotFoundError):
            return error_page(
                request, 404, f"{exc.kind}: {message('not_found', language(request))}"
            )
        return error_page(request, status_of(exc), str(exc), problems_of(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        fields = [
            f"{'.'.join(str(x) for x in e.get('loc', ()) if x not in ('body', 'query'))}: "
            f"{e.get('msg', '')}"
            for e in exc.errors()
        ]
        return error_page(request, 422, "invalid input", fields)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 404:
            return error_page(request, 404, message("not_found", language(request)))
        return error_page(request, exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.error("console page failed: %s", type(exc).__name__)  # the class only: no data
        return error_page(request, 500, message("error", language(request)))
