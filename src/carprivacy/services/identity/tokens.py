"""Signed short-lived bearer tokens (U1): the claims and their checks. The signature itself is the
``TokenSigner`` port's (HS256 JWT under a key kept outside the database, in production)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from carprivacy.domain.errors import AuthenticationError
from carprivacy.services.identity.ports import TokenSigner

ISSUER = "carprivacy"
REQUIRED_CLAIMS = ("exp", "iat", "sub", "iss")


@dataclass(frozen=True)
class Token:
    access_token: str
    expires_in: int
    scope: str
    token_type: str = "Bearer"


@dataclass(frozen=True)
class VerifiedToken:
    subject: str
    scopes: frozenset[str]
    audience: str | None = None  # None: a token of this platform's own API
    claims: dict[str, Any] = field(default_factory=dict)


class AccessTokens:
    def __init__(self, signer: TokenSigner, ttl: timedelta) -> None:
        self._signer = signer
        self.ttl = int(ttl.total_seconds())

    def issue(
        self,
        subject: str,
        claims: dict[str, str],
        scopes: frozenset[str],
        now: datetime,
        *,
        audience: str | None = None,
    ) -> Token:
        """A signed token; ``audience`` names the API it is for (none: this platform's own)."""
        scope = " ".join(sorted(scopes))
        body: dict[str, Any] = {
            **claims,
            **({"aud": audience} if audience is not None else {}),
            "iss": ISSUER,
            "sub": subject,
            "scope": scope,
            "iat": int(now.timestamp()),
            "exp": int(now.timestamp()) + self.ttl,
            "jti": secrets.token_hex(8),
        }
        return Token(self._signer.sign(body), self.ttl, scope)

    def verify(self, token: str, now: datetime) -> VerifiedToken:
        """Signature (the signer's), then issuer, subject, issue time and expiry (against
        ``now``, not the wall clock)."""
        claims = self._signer.verify(token)
        if any(claims.get(name) is None for name in REQUIRED_CLAIMS):
            raise AuthenticationError("the bearer token is not valid")
        if claims["iss"] != ISSUER or not isinstance(claims["sub"], str):
            raise AuthenticationError("the bearer token is not valid")
        try:
            issued, expires = int(claims["iat"]), int(claims["exp"])
        except (TypeError, ValueError, OverflowError):
            raise AuthenticationError("the bearer token is not valid") from None
        moment = int(now.timestamp())
        if issued > moment:
            raise AuthenticationError("the bearer token is not valid")
        if expires <= moment:
            raise AuthenticationError("the bearer token has expired")
        audience = claims.get("aud")
        return VerifiedToken(
            claims["sub"],
            frozenset(str(claims.get("scope", "")).split()),
            None if audience is None else str(audience),
            claims,
        )
