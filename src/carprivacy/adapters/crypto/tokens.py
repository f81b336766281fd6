"""Bearer token signatures with PyJWT, HS256 (SPEC U1): the ``TokenSigner`` port of the identity
room. The key is kept outside the database (``token.key`` or ``CARPRIVACY_TOKEN_SECRET``).

Only the signature and the format are checked here; issuer, subject and expiry against the
injected clock are the service's (``services/identity/tokens.py``). PyJWT's errors stay here: any
token that does not check is ``AuthenticationError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jwt
from jwt.types import Options

from carprivacy.domain.errors import AuthenticationError

ALGORITHM = "HS256"
# the time claims are checked against the service's clock, never the wall clock
_SIGNATURE_ONLY: Options = {
    "verify_signature": True,
    "verify_exp": False,
    "verify_iat": False,
    "verify_nbf": False,
    "verify_iss": False,
    "verify_aud": False,
}


class JwtTokenSigner:
    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the token key must be at least 32 bytes")
        self._key = key

    def sign(self, claims: Mapping[str, Any]) -> str:
        return jwt.encode(dict(claims), self._key, algorithm=ALGORITHM)

    def verify(self, token: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token, self._key, algorithms=[ALGORITHM], options=_SIGNATURE_ONLY
            )
        except jwt.PyJWTError as exc:
            raise AuthenticationError("the bearer token is not valid") from exc
        return claims
