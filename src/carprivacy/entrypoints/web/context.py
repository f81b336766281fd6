"""What a portal page knows of its request: the services, the session, the language, and how
it answers (a rendered page, a redirect). Pages ask for these by dependency.

The session lives in one cookie (``portal.py`` opens it before the page and writes it after):
HTTP-only, ``SameSite=Lax``, ``Path=/portal``, and ``Secure`` with the ``__Host-`` prefix unless
the request came over plain HTTP to a loopback address (``carprivacy serve`` allows plain HTTP
only there, for development; every other address is served over TLS).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from carprivacy.bootstrap import Services
from carprivacy.domain.access import Caller, Role
from carprivacy.domain.errors import AccessDeniedError, AuthenticationError
from carprivacy.entrypoints.web.messages import DEFAULT_LANGUAGE, LANGUAGES, message
from carprivacy.entrypoints.web.navigation import entries
from carprivacy.services.identity.portal_sessions import PortalSession, PortalSessions

PREFIX = "/portal"
SECURE_COOKIE = "__Host-carprivacy_session"
LOOPBACK_COOKIE = "carprivacy_session"
LANGUAGE_COOKIE = "carprivacy_lang"
CSRF_FIELD = "csrf_token"
CSRF_RULE = "csrf_token: csrf.session_token (Art. 32 GDPR)"

_templates = Environment(
    loader=PackageLoader("carprivacy.entrypoints.web", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def secure_cookies(request: Request) -> bool:
    """Cookies carry ``Secure`` unless the request is plain HTTP to a loopback address."""
    server = request.scope.get("server") or (None, None)
    return not (request.url.scheme == "http" and is_loopback(server[0]))


def cookie_name(request: Request) -> str:
    return SECURE_COOKIE if secure_cookies(request) else LOOPBACK_COOKIE


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def sessions_of(request: Request) -> PortalSessions:
    return services_of(request).portal_sessions


def language(request: Request) -> str:
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


def session(request: Request) -> PortalSession:
    """This request's session; a new anonymous one (kept in the cookie) when there is none."""
    found: PortalSession | None = request.state.session
    if found is None:
        found = sessions_of(request).anonymous()
        keep(request, found)
    return found


def keep(request: Request, new: PortalSession | None) -> None:
    """Write ``new`` into the session cookie with the answer (None: remove it)."""
    request.state.session = new
    request.state.session_out = new if new is not None else False


@dataclass(frozen=True)
class Customer:
    """A logged-in customer: the caller the API would see for the same bearer token."""

    caller: Caller
    subject_id: str


def signed_in(request: Request) -> Customer:
    """The logged-in customer of the request; AuthenticationError (answered by the portal with
    a redirect to the login page) without one."""
    current: PortalSession | None = request.state.session
    if current is None or not current.logged_in:
        raise AuthenticationError("log in first")
    try:
        caller, renewed = sessions_of(request).caller(current)
    except AuthenticationError:
        keep(request, None)
        raise AuthenticationError("log in first") from None
    if renewed != current:
        keep(request, renewed)
    if caller.role is not Role.CUSTOMER or caller.subject_id is None:
        raise AccessDeniedError(message("customers_only", language(request)), ("caller.role",))
    return Customer(caller, caller.subject_id)


async def check_form(request: Request) -> None:
    """Every POST of the portal carries its session's CSRF token (the field ``csrf_token``; Art.
    32 GDPR, security of processing): else AccessDeniedError naming ``CSRF_RULE``."""
    if request.method != "POST":
        return
    form = await request.form()
    token = form.get(CSRF_FIELD)
    current: PortalSession | None = request.state.session
    if not sessions_of(request).csrf_valid(current, token if isinstance(token, str) else None):
        raise AccessDeniedError(
            "the form's CSRF token is missing or not this session's", (CSRF_RULE,)
        )


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page: ``template`` with the language, the navigation, the CSRF token and ``context``."""
    lang = language(request)
    current = session(request)
    logged_in = current.logged_in and not getattr(request.state, "login_ended", False)
    html = _templates.get_template(template).render(
        lang=lang,
        t=lambda key: message(key, lang),
        nav=entries(request.app.state.served, PREFIX) if logged_in else [],
        logged_in=logged_in,
        csrf_field=CSRF_FIELD,
        csrf_token=sessions_of(request).csrf_token(current),
        here=request.url.path,
        here_quoted=quote(request.url.path, safe=""),
        prefix=PREFIX,
        **context,
    )
    return HTMLResponse(html, status_code=status_code)


def redirect(path: str) -> RedirectResponse:
    """303 See Other to a portal path (after a form: the browser GETs it)."""
    return RedirectResponse(path, status_code=303)


def customer_dependency() -> Any:
    return Depends(signed_in)
