"""Errors as pages: what went wrong, named (the field and rule, the refusal's reasons), never a
stack trace. The status of each domain error is the API's (``entrypoints/api/errors.py``)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from carprivacy.domain.errors import (
    AccessDeniedError,
    AuthenticationError,
    CarPrivacyError,
    InvalidInputError,
    NotFoundError,
)
from carprivacy.entrypoints.api.errors import HTTP_STATUS
from carprivacy.entrypoints.web.context import (
    CSRF_RULE,
    PREFIX,
    language,
    redirect,
    render,
)
from carprivacy.entrypoints.web.messages import message

log = logging.getLogger("carprivacy.portal")


def status_of(exc: CarPrivacyError) -> int:
    for cls in type(exc).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    return 500


def problems_of(exc: CarPrivacyError) -> list[str]:
    if isinstance(exc, InvalidInputError):
        return [f"{p.path}: {p.message} ({p.rule})" for p in exc.problems]
    if isinstance(exc, AccessDeniedError):
        return list(exc.reasons)
    return []


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
    """The portal's error pages."""
    register_error_pages(app, f"{PREFIX}/login", error_page, language, message, log, CSRF_RULE)


ErrorPage = Callable[[Request, int, str, "list[str] | None"], Response]


def register_error_pages(
    app: FastAPI,
    login: str,
    page: ErrorPage,
    language_of: Callable[[Request], str],
    text: Callable[[str, str], str],
    logger: logging.Logger,
    csrf_rule: str,
) -> None:
    """Every error of a web app (the portal, the console) as its ``page``: no login leads to
    ``login``; a domain error has the API's status and names its field and rule, or reasons."""

    @app.exception_handler(AuthenticationError)
    async def _login(request: Request, _: AuthenticationError) -> Response:
        return redirect(login)  # no login, or it ended

    @app.exception_handler(AccessDeniedError)
    async def _denied(request: Request, exc: AccessDeniedError) -> Response:
        detail = text("csrf", language_of(request)) if csrf_rule in exc.reasons else str(exc)
        return page(request, 403, detail, list(exc.reasons))

    @app.exception_handler(CarPrivacyError)
    async def _domain(request: Request, exc: CarPrivacyError) -> Response:
        if isinstance(exc, NotFoundError):
            found = text("not_found", language_of(request))
            return page(request, 404, f"{exc.kind}: {found}", None)
        return page(request, status_of(exc), str(exc), problems_of(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        fields = [
            f"{'.'.join(str(x) for x in e.get('loc', ()) if x not in ('body', 'query'))}: "
            f"{e.get('msg', '')}"
            for e in exc.errors()
        ]
        return page(request, 422, "invalid input", fields)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 404:
            return page(request, 404, text("not_found", language_of(request)), None)
        return page(request, exc.status_code, str(exc.detail), None)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        logger.error("page failed: %s", type(exc).__name__)  # the class only: no data
        return page(request, 500, text("error", language_of(request)), None)
