"""In-memory fakes of the caller ports: callers, credentials, e-mail."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from carprivacy.domain.errors import AuthenticationError, ConflictError, MailDeliveryError
from carprivacy.services.identity.callers import CallerRecord, EmailCode


@dataclass
class InMemoryCallerRepository:
    callers: dict[str, CallerRecord] = field(default_factory=dict)
    credentials: dict[tuple[str, str], str] = field(default_factory=dict)
    codes: dict[str, EmailCode] = field(default_factory=dict)
    login_attempts: dict[str, tuple[int, datetime]] = field(default_factory=dict)

    def add(self, record: CallerRecord, credentials: Mapping[str, str] | None = None) -> None:
        if record.id in self.callers or (
            record.email and any(c.email == record.email for c in self.callers.values())
        ):
            raise ConflictError("a caller with this id or e-mail address exists")
        self.callers[record.id] = record
        for kind, secret_hash in (credentials or {}).items():
            self.credentials[(record.id, kind)] = secret_hash

    def get(self, caller_id: str) -> CallerRecord | None:
        return self.callers.get(caller_id)

    def by_email(self, email: str) -> CallerRecord | None:
        return next((c for c in self.callers.values() if c.email == email), None)

    def list(self) -> list[CallerRecord]:
        return sorted(self.callers.values(), key=lambda c: (c.created_at, c.id))

    def set_disabled(self, caller_id: str, disabled: bool) -> None:
        self.callers[caller_id] = replace(self.callers[caller_id], disabled=disabled)

    def set_credential(self, caller_id: str, kind: str, secret_hash: str, at: datetime) -> None:
        self.credentials[(caller_id, kind)] = secret_hash

    def credential(self, caller_id: str, kind: str) -> str | None:
        return self.credentials.get((caller_id, kind))

    def add_email_code(self, code: EmailCode) -> None:
        for other in list(self.codes.values()):
            if other.caller_id == code.caller_id and not other.used:
                self.codes[other.id] = replace(other, used=True)
        self.codes[code.id] = code

    def email_code(self, code_id: str) -> EmailCode | None:
        return self.codes.get(code_id)

    def email_codes_since(self, caller_id: str, since: datetime) -> int:
        return sum(
            1 for c in self.codes.values() if c.caller_id == caller_id and c.created_at >= since
        )

    def claim_email_code_attempt(self, code_id: str, max_attempts: int) -> bool:
        code = self.codes.get(code_id)
        if code is None or code.used or code.attempts >= max_attempts:
            return False
        self.codes[code_id] = replace(code, attempts=code.attempts + 1)
        return True

    def consume_email_code(self, code_id: str) -> bool:
        code = self.codes.get(code_id)
        if code is None or code.used:
            return False
        self.codes[code_id] = replace(code, used=True)
        return True

    def claim_login_attempt(
        self, login_key: str, limit: int, window_opened_after: datetime, at: datetime
    ) -> bool:
        for key, (_, start) in list(self.login_attempts.items()):
            if start <= window_opened_after:
                del self.login_attempts[key]  # windows that are over are forgotten
        attempts, start = self.login_attempts.get(login_key, (0, at))
        self.login_attempts[login_key] = (attempts + 1, start)
        return attempts + 1 <= limit

    def clear_login_attempts(self, login_key: str) -> None:
        self.login_attempts.pop(login_key, None)


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    body: str


@dataclass
class InMemoryEmailOutbox:
    sent: list[Email] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)  # references whose code was used
    down: bool = False  # True: the mail server cannot be reached (send raises)
    undelivered: list[Email] = field(default_factory=list)  # what send was given while down

    def send(
        self,
        to: str,
        subject: str,
        body: str,
        *,
        reference: str | None = None,
        expires_at: datetime | None = None,
    ) -> None:
        if self.down:
            self.undelivered.append(Email(to, subject, body))
            raise MailDeliveryError("mail delivery failed: the server cannot be reached")
        self.sent.append(Email(to, subject, body))

    def withdraw(self, reference: str) -> None:
        self.withdrawn.append(reference)


class FakePasswordHasher:
    """The ``PasswordHasher`` port without argon2's cost: salted PBKDF2-SHA256 with few rounds.
    Still honest: each hash has its own salt, and only the right password verifies."""

    PREFIX = "fake-pbkdf2"

    def __init__(self, rounds: int = 1000) -> None:
        self.rounds = rounds

    def hash(self, password: str) -> str:
        salt = secrets.token_bytes(16)
        digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, self.rounds)
        return f"{self.PREFIX}${self.rounds}${salt.hex()}${digest.hex()}"

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            prefix, rounds, salt, digest = password_hash.split("$")
            expected = bytes.fromhex(digest)
            given = hashlib.pbkdf2_hmac(
                "sha256", password.encode(), bytes.fromhex(salt), int(rounds)
            )
        except ValueError:
            return False
        return prefix == self.PREFIX and hmac.compare_digest(expected, given)


class FakeTokenSigner:
    """The ``TokenSigner`` port without JWT: base64url(JSON claims) "." base64url(HMAC-SHA256).
    Still honest: an altered token, or one signed under another key, raises AuthenticationError."""

    def __init__(self, key: bytes = b"fake token signing key, 32 bytes") -> None:
        self._key = key

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, hashlib.sha256).digest()

    def sign(self, claims: Mapping[str, Any]) -> str:
        body = base64.urlsafe_b64encode(json.dumps(dict(claims), sort_keys=True).encode())
        return f"{body.decode()}.{base64.urlsafe_b64encode(self._mac(body)).decode()}"

    def verify(self, token: str) -> dict[str, Any]:
        try:
            body, mac = token.encode("ascii").split(b".")
            valid = hmac.compare_digest(self._mac(body), base64.urlsafe_b64decode(mac))
            claims = json.loads(base64.urlsafe_b64decode(body)) if valid else None
        except (ValueError, UnicodeError):
            claims = None
        if not isinstance(claims, dict):
            raise AuthenticationError("the bearer token is not valid")
        return claims
