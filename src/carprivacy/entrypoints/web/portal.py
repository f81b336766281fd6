"""The portal as a sub-application of the API app, mounted at ``/portal``: its own error pages
(HTML, not JSON), the session cookie opened before a page and written after it, security
headers on every answer, a CSRF check on every POST, and the local static files (no CDN).

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
from carprivacy.entrypoints.web import pages
from carprivacy.entrypoints.web.context import (
    PREFIX,
    check_form,
    cookie_name,
    secure_cookies,
    sessions_of,
)
from carprivacy.entrypoints.web.errors import register_page_errors
from carprivacy.services.identity.portal_sessions import PortalSessions

STATIC = Path(__file__).parent / "static"
# no script, no frame, nothing from another origin; pygal's SVG charts style themselves inline
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def create_portal(services: Services) -> FastAPI:
    portal = FastAPI(
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(check_form)],
    )
    portal.state.services = services
    register_page_errors(portal)
    portal.mount("/static", StaticFiles(directory=STATIC), name="static")
    served: set[str] = set()
    for mod in sorted(pkgutil.iter_modules(pages.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{pages.__name__}.{mod.name}")
        portal.include_router(module.router)
        served |= {r.path for r in module.router.routes if "GET" in getattr(r, "methods", ())}
    portal.state.served = frozenset(served)

    add_session_layer(portal, PREFIX, sessions_of, cookie_name)
    return portal


def add_session_layer(
    app: FastAPI,
    prefix: str,
    sessions: Callable[[Request], PortalSessions],
    cookie: Callable[[Request], str],
) -> None:
    """A web app's session (the portal's, the console's): its cookie opened before a page and
    written (or deleted) after it, the security headers on every answer, no caching of pages."""

    @app.middleware("http")
    async def _session(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        request.state.session = sessions(request).open(request.cookies.get(cookie(request)))
        request.state.session_out = None
        response = await call_next(request)
        out = request.state.session_out
        secure = secure_cookies(request)
        if out is False:
            response.delete_cookie(
                cookie(request), path="/" if secure else prefix, secure=secure, httponly=True
            )
        elif out is not None:
            now = int(sessions(request).clock().timestamp())
            response.set_cookie(
                cookie(request),
                sessions(request).seal(out),
                max_age=max(out.expires - now, 0),
                path="/" if secure else prefix,  # the __Host- prefix needs Path=/
                secure=secure,
                httponly=True,
                samesite="lax",
            )
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if not request.url.path.startswith(f"{prefix}/static"):
            response.headers["Cache-Control"] = "no-store"
        return response


def mount_portal(app: FastAPI, services: Services) -> None:
    app.mount(PREFIX, create_portal(services), name="portal")
