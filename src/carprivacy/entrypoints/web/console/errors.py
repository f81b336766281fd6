"""The console's errors as pages: what went wrong, named (the field and rule, the refusal's
reasons), never a stack trace; the status of each domain error is the API's."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import Response

from carprivacy.entrypoints.web.console.context import (
    CSRF_RULE,
    PREFIX,
    language,
    render,
)
from carprivacy.entrypoints.web.console.messages import message
from carprivacy.entrypoints.web.errors import register_error_pages

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
    """The console's error pages (the portal's handlers, with the console's page and texts)."""
    register_error_pages(app, f"{PREFIX}/login", error_page, language, message, log, CSRF_RULE)
