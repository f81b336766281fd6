"""What a console page knows of its request: the services, the session, the language, the
logged-in privacy officer; how it answers (a page, a redirect).

The console's session is the portal's kind of signed cookie under a key of its own
(``Services.console_sessions``): HTTP-only, ``SameSite=Lax``, ``Secure`` with the ``__Host-``
prefix unless the request came over plain HTTP to a loopback address (then ``Path=/console``).
Only a login with the role ``privacy_officer`` enters; every other role is refused with the rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from carprivacy.bootstrap import Services
from carprivacy.domain.access import Caller, Role
from carprivacy.domain.errors import AccessDeniedError, AuthenticationError
from carprivacy.entrypoints.web.console.messages import DEFAULT_LANGUAGE, LANGUAGES, message
from carprivacy.entrypoints.web.context import is_loopback
from carprivacy.services.identity.portal_sessions import PortalSession, PortalSessions

PREFIX = "/console"
SECURE_COOKIE = "__Host-carprivacy_console"
LOOPBACK_COOKIE = "carprivacy_console"
LANGUAGE_COOKIE = "carprivacy_console_lang"
CSRF_FIELD = "csrf_token"
CSRF_RULE = "csrf_token: csrf.session_token (Art. 32 GDPR)"
ROLES = frozenset({Role.PRIVACY_OFFICER})
ROLE_RULE = "caller.role: console.privacy_officer (Art. 38-39 GDPR)"

NAVIGATION: tuple[tuple[str, str], ...] = (
    ("home", "/"),
    ("requests", "/requests"),
    ("holds", "/holds"),
    ("consents", "/consents"),
    ("retention", "/retention"),
    ("audit", "/audit"),
    ("register", "/register"),
    ("policy_check", "/policy"),
)

_templates = Environment(
    loader=PackageLoader("carprivacy.entrypoints.web.console", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def secure_cookies(request: Request) -> bool:
    server = request.scope.get("server") or (None, None)
    return not (request.url.scheme == "http" and is_loopback(server[0]))


def cookie_name(request: Request) -> str:
    return SECURE_COOKIE if secure_cookies(request) else LOOPBACK_COOKIE


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def sessions_of(request: Request) -> PortalSessions:
    return services_of(request).console_sessions


def language(request: Request) -> str:
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


def session(request: Request) -> PortalSession:
    found: PortalSession | None = request.state.session
    if found is None:
        found = sessions_of(request).anonymous()
        keep(request, found)
    return found


def keep(request: Request, new: PortalSession | None) -> None:
    request.state.session = new
    request.state.session_out = new if new is not None else False


def refusal(caller: Caller, lang: str) -> AccessDeniedError | None:
    """Why ``caller`` may not enter the console, or None."""
    if caller.role in ROLES:
        return None
    text = message("officers_only", lang).format(role=caller.role.value)
    return AccessDeniedError(text, (ROLE_RULE,))


@dataclass(frozen=True)
class Officer:
    """The logged-in privacy officer: the caller the API would see for the same bearer token."""

    caller: Caller

    @property
    def id(self) -> str:
        return self.caller.id


def signed_in(request: Request) -> Officer:
    """The logged-in privacy officer; AuthenticationError (a redirect to the login page) without
    a login, AccessDeniedError naming ``ROLE_RULE`` for any other role."""
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
    refused = refusal(caller, language(request))
    if refused is not None:
        raise refused
    return Officer(caller)


async def check_form(request: Request) -> None:
    """Every POST of the console carries its session's CSRF token (Art. 32 GDPR)."""
    if request.method != "POST":
        return
    form = await request.form()
    token = form.get(CSRF_FIELD)
    current: PortalSession | None = request.state.session
    if not sessions_of(request).csrf_valid(current, token if isinstance(token, str) else None):
        raise AccessDeniedError(
            "the form's CSRF token is missing or not this session's", (CSRF_RULE,)
        )


def when(at: datetime | None) -> str:
    """A moment as shown: UTC, to the second."""
    return "" if at is None else at.strftime("%Y-%m-%d %H:%M:%S UTC")


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    lang = language(request)
    current = session(request)
    logged_in = current.logged_in and not getattr(request.state, "login_ended", False)
    html = _templates.get_template(template).render(
        lang=lang,
        t=lambda key: message(key, lang),
        nav=[(key, PREFIX + path) for key, path in NAVIGATION] if logged_in else [],
        logged_in=logged_in,
        csrf_field=CSRF_FIELD,
        csrf_token=sessions_of(request).csrf_token(current),
        here=request.url.path,
        here_quoted=quote(request.url.path, safe=""),
        prefix=PREFIX,
        when=when,
        **context,
    )
    return HTMLResponse(html, status_code=status_code)


def redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)
