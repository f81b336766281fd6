"""The console as a sub-application of the API app, mounted at ``/console``: its own error
pages, its session cookie opened before a page and written after it, the portal's security
headers on every answer, a CSRF check on every POST, and local static files only.

Each module of ``pages/`` is a page group with its own ``router``; all are included here.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import Depends, FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles

from carprivacy.bootstrap import Services
from carprivacy.entrypoints.web.console import pages
from carprivacy.entrypoints.web.console.context import (
    PREFIX,
    check_form,
    cookie_name,
    secure_cookies,
    sessions_of,
)
from carprivacy.entrypoints.web.console.errors import register_page_errors
from carprivacy.entrypoints.web.portal import HEADERS

STATIC = Path(__file__).parent / "static"


def create_console(services: Services) -> FastAPI:
    console = FastAPI(
        docs_url=None, redoc_url=None, openapi_url=None, dependencies=[Depends(check_form)]
    )
    console.state.services = services
    register_page_errors(console)
    console.mount("/static", StaticFiles(directory=STATIC), name="static")
    for mod in sorted(pkgutil.iter_modules(pages.__path__), key=lambda m: m.name):
        console.include_router(importlib.import_module(f"{pages.__name__}.{mod.name}").router)

    @console.middleware("http")
    async def _session(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        request.state.session = sessions_of(request).open(request.cookies.get(cookie_name(request)))
        request.state.session_out = None
        response = await call_next(request)
        out = request.state.session_out
        secure = secure_cookies(request)
        if out is False:
            response.delete_cookie(
                cookie_name(request), path="/" if secure else PREFIX, secure=secure, httponly=True
            )
        elif out is not None:
            now = int(sessions_of(request).clock().timestamp())
            response.set_cookie(
                cookie_name(request),
                sessions_of(request).seal(out),
                max_age=max(out.expires - now, 0),
                path="/" if secure else PREFIX,  # the __Host- prefix needs Path=/
                secure=secure,
                httponly=True,
                samesite="lax",
            )
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if not request.url.path.startswith(f"{PREFIX}/static"):
            response.headers["Cache-Control"] = "no-store"
        return response

    return console


def mount_console(app: FastAPI, services: Services) -> None:
    app.mount(PREFIX, create_console(services), name="console")
