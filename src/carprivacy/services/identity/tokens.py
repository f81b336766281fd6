"""Signed short-lived bearer tokens (JWT, HS256 under a key kept outside the database; U1)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt

from carprivacy.domain.errors import AuthenticationError

ISSUER = "carprivacy"


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


class AccessTokens:
    def __init__(self, key: bytes, ttl: timedelta) -> None:
        if len(key) < 32:
            raise ValueError("the token key must be at least 32 bytes")
        self._key = key
        self.ttl = int(ttl.total_seconds())

    def issue(
        self, subject: str, claims: dict[str, str], scopes: frozenset[str], now: datetime
    ) -> Token:
        scope = " ".join(sorted(scopes))
        body: dict[str, Any] = {
            **claims,
            "iss": ISSUER,
            "sub": subject,
            "scope": scope,
            "iat": int(now.timestamp()),
            "exp": int(now.timestamp()) + self.ttl,
            "jti": secrets.token_hex(8),
        }
        return Token(jwt.encode(body, self._key, algorithm="HS256"), self.ttl, scope)

    def verify(self, token: str, now: datetime) -> VerifiedToken:
        """Signature, issuer and expiry (against ``now``, not the wall clock)."""
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=["HS256"],
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "iss"], "verify_exp": False},
            )
        except jwt.PyJWTError as exc:
            raise AuthenticationError("the bearer token is not valid") from exc
        if int(claims["exp"]) <= int(now.timestamp()):
            raise AuthenticationError("the bearer token has expired")
        return VerifiedToken(str(claims["sub"]), frozenset(str(claims.get("scope", "")).split()))
