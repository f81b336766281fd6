"""E-mail verification codes of a rights request (Art. 12(6) GDPR; SPEC R1).

Six random digits, sent to the address held for the person, kept only as a keyed hash
(HMAC-SHA256 bound to the request id), valid :data:`CODE_TTL`, :data:`CODE_ATTEMPTS` tries; a
wrong try uses one up, the last wrong one or the expiry ends the code.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import replace
from datetime import datetime, timedelta

from carprivacy.domain.errors import Problem
from carprivacy.services.rights.ports import EmailCode

CODE_TTL = timedelta(minutes=10)
CODE_ATTEMPTS = 5


def digest(key: bytes, request_id: str, code: str) -> str:
    return hmac.new(key, f"{request_id}:{code}".encode(), hashlib.sha256).hexdigest()


def issue(key: bytes, request_id: str, now: datetime) -> tuple[str, EmailCode]:
    """A new code and what is kept of it."""
    code = f"{secrets.randbelow(1_000_000):06d}"
    return code, EmailCode(digest(key, request_id, code), now + CODE_TTL, CODE_ATTEMPTS)


def check(
    key: bytes, request_id: str, pending: EmailCode | None, given: str | None, now: datetime
) -> tuple[EmailCode | None, Problem | None]:
    """(what stays pending, the problem) for ``given``: (None, None) when it is right."""
    if pending is None:
        return None, Problem("code", "request.code_missing", "ask for a code first")
    if now >= pending.expires_at or pending.attempts_left <= 0:
        return None, Problem("code", "request.code_expired", "the code expired: ask for another")
    if not hmac.compare_digest(digest(key, request_id, (given or "").strip()), pending.digest):
        left = pending.attempts_left - 1
        problem = Problem("code", "request.code_wrong", f"the code is wrong ({left} tries left)")
        return (replace(pending, attempts_left=left) if left else None), problem
    return None, None
