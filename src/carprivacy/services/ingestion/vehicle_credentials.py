"""Per-vehicle credentials: a random bearer token, shown once, stored as SHA-256.

A 256-bit random token needs no slow password hash: SHA-256 of it cannot be reversed, and lookup by
hash is one indexed query per request.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime

from carprivacy.domain.errors import AuthenticationError, NotFoundError
from carprivacy.domain.master import raise_if, validate_vin
from carprivacy.services.ingestion.ports import VehicleCredentialRepository

TOKEN_PREFIX = "cpv_"


@dataclass(frozen=True)
class IssuedCredential:
    credential_id: str
    vin: str
    token: str  # shown once; only its hash is stored


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def well_formed(token: str) -> bool:
    """Whether ``token`` can be a vehicle credential at all (no lookup needed to refuse it)."""
    return token.startswith(TOKEN_PREFIX) and len(token) <= 200


def check_form(token: str) -> None:
    """AuthenticationError for a token that cannot be a vehicle credential."""
    if not well_formed(token):
        raise AuthenticationError("a vehicle credential is required")


class VehicleCredentialService:
    def __init__(self, repo: VehicleCredentialRepository, clock: Callable[[], datetime]) -> None:
        self._repo = repo
        self._clock = clock

    def issue(self, vehicle_id: str | None, vin: str) -> IssuedCredential:
        raise_if(validate_vin(vin))
        if vehicle_id is None:
            raise NotFoundError("vehicle", vin)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        credential_id = str(uuid.uuid4())
        self._repo.add(credential_id, vehicle_id, token_hash(token), self._clock())
        return IssuedCredential(credential_id, vin, token)

    def authenticate(self, token: str) -> str:
        """The VIN of the vehicle holding ``token``; AuthenticationError otherwise."""
        check_form(token)
        vin = self._repo.vin_for(token_hash(token))
        if vin is None:
            raise AuthenticationError("the vehicle credential is not valid")
        return vin

    def authenticate_many(self, tokens: Collection[str]) -> dict[str, str]:
        """Token -> VIN of each of ``tokens`` that is a live credential, in one lookup (the
        uploads of one ingestion turn); a token missing from the answer is not valid."""
        hashes = {token_hash(t): t for t in tokens if well_formed(t)}
        if not hashes:
            return {}
        return {hashes[h]: vin for h, vin in self._repo.vins_for(hashes).items()}

    def revoke_all(self, vehicle_id: str) -> int:
        return self._repo.revoke_all(vehicle_id, self._clock())
