"""Portal sessions: signed, expiring session tokens for the customer's web pages (SPEC U1, C1).

A session is no row in a table: it is a token the browser keeps in a cookie, signed (HMAC-SHA256
under a key kept outside the database) and expiring, holding

- ``sid``: a random session id; the CSRF token of every form is derived from it (so a form of
  one session is worthless in another, and the login rotates it against session fixation);
- ``access``: the bearer token the caller service issued at login (or none before login), which
  every request authenticates exactly as the API does (``CallerService.authenticate``: signature,
  expiry, caller still enabled);
- ``login_at`` and ``exp``: the session ends ``idle`` after its last renewal (the bearer token's
  lifetime) and never later than ``absolute`` after the login.

Nothing personal is in it beyond the caller id the bearer token already carries; it is not
readable by page scripts (the cookie is HTTP-only). Standard library only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, replace
from datetime import timedelta

from carprivacy.domain.access import Caller
from carprivacy.domain.errors import AuthenticationError
from carprivacy.services.identity.callers import CallerService
from carprivacy.services.identity.tokens import Token
from carprivacy.services.ports.clock import Clock

PREFIX = "s1."
MAX_TOKEN_CHARS = 4096


@dataclass(frozen=True)
class PortalSession:
    """What one session token holds (see the module docstring)."""

    sid: str
    expires: int  # epoch seconds
    access: str | None = None
    access_expires: int = 0
    login_at: int = 0

    @property
    def logged_in(self) -> bool:
        return self.access is not None


@dataclass(frozen=True)
class SessionLimits:
    anonymous: timedelta = timedelta(hours=2)  # a session before login (the login form's)
    absolute: timedelta = timedelta(hours=8)  # the longest a login lasts, renewed or not


class PortalSessions:
    def __init__(
        self,
        key: bytes,
        callers: CallerService,
        clock: Clock,
        limits: SessionLimits | None = None,
    ) -> None:
        if len(key) < 32:
            raise ValueError("the portal session key must be at least 32 bytes")
        self._key = key
        self.callers = callers
        self.clock = clock
        self.limits = limits or SessionLimits()

    # -- the token ----------------------------------------------------------------------------

    def seal(self, session: PortalSession) -> str:
        body = {
            "sid": session.sid,
            "exp": session.expires,
            "acc": session.access,
            "aex": session.access_expires,
            "lat": session.login_at,
        }
        raw = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
        data = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        return f"{PREFIX}{data}.{self._mac(data)}"

    def open(self, token: str | None) -> PortalSession | None:
        """The session of ``token``, or None when it is absent, altered, foreign or expired."""
        if not token or len(token) > MAX_TOKEN_CHARS or not token.startswith(PREFIX):
            return None
        data, _, mac = token[len(PREFIX) :].rpartition(".")
        if not token.isascii():
            return None
        if not data or not hmac.compare_digest(mac.encode(), self._mac(data).encode()):
            return None
        try:
            body = json.loads(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
            session = PortalSession(
                sid=str(body["sid"]),
                expires=int(body["exp"]),
                access=None if body["acc"] is None else str(body["acc"]),
                access_expires=int(body["aex"]),
                login_at=int(body["lat"]),
            )
        except (ValueError, KeyError, TypeError, binascii.Error):
            return None
        if session.expires <= self._now():
            return None
        return session

    # -- the life of a session ----------------------------------------------------------------

    def anonymous(self) -> PortalSession:
        """A fresh session before login: its id keys the login form's CSRF token."""
        return PortalSession(
            sid=secrets.token_urlsafe(24),
            expires=self._now() + int(self.limits.anonymous.total_seconds()),
        )

    def login(self, login: str, password: str) -> PortalSession:
        """Log in with a password through the caller service (its throttle, its checks); the
        new session has a new id (never the one the login form was shown under)."""
        return self._started(self.callers.login_password(login, password))

    def caller(self, session: PortalSession) -> tuple[Caller, PortalSession]:
        """The session's caller, authenticated as the API authenticates a bearer token, and
        the session to keep: renewed (a new bearer token) once half its lifetime has passed,
        until the absolute limit. AuthenticationError when there is no login or it ended."""
        if session.access is None:
            raise AuthenticationError("log in first")
        caller = self.callers.authenticate(session.access)
        now = self._now()
        if session.access_expires - now > self.callers.settings.token_ttl.total_seconds() / 2:
            return caller, session
        limit = session.login_at + int(self.limits.absolute.total_seconds())
        if now >= limit:
            return caller, session  # no renewal past the absolute limit: it ends with the token
        token = self.callers.issue(self.callers.get(caller.id))
        renewed = replace(
            session,
            access=token.access_token,
            access_expires=min(now + token.expires_in, limit),
            expires=min(now + token.expires_in, limit),
        )
        return caller, renewed

    def csrf_token(self, session: PortalSession) -> str:
        """The CSRF token of every form of this session."""
        return hmac.new(self._key, b"csrf\0" + session.sid.encode(), hashlib.sha256).hexdigest()

    def csrf_valid(self, session: PortalSession | None, token: str | None) -> bool:
        if session is None or not token or not token.isascii():
            return False
        return hmac.compare_digest(token.encode(), self.csrf_token(session).encode())

    # -- internals ----------------------------------------------------------------------------

    def _started(self, token: Token) -> PortalSession:
        now = self._now()
        return PortalSession(
            sid=secrets.token_urlsafe(24),
            expires=now + token.expires_in,
            access=token.access_token,
            access_expires=now + token.expires_in,
            login_at=now,
        )

    def _mac(self, data: str) -> str:
        digest = hmac.new(self._key, b"session\0" + data.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def _now(self) -> int:
        return int(self.clock().timestamp())


__all__ = ["PortalSession", "PortalSessions", "SessionLimits"]
