"""The ports of the identity room (SPEC U1): where callers and their credentials are kept, how
e-mail reaches them, how passwords are hashed and how bearer tokens are signed."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from carprivacy.services.identity.callers import CallerRecord, EmailCode


class CallerRepository(Protocol):
    def add(self, record: CallerRecord, credentials: Mapping[str, str] | None = None) -> None:
        """Store the caller and its credentials (kind -> secret hash, stamped with the record's
        ``created_at``) in one transaction: all or nothing. Raises ConflictError when the id or
        e-mail address is taken."""
        ...

    def get(self, caller_id: str) -> CallerRecord | None: ...

    def by_email(self, email: str) -> CallerRecord | None: ...

    def list(self) -> list[CallerRecord]: ...

    def set_disabled(self, caller_id: str, disabled: bool) -> None: ...

    def set_credential(self, caller_id: str, kind: str, secret_hash: str, at: datetime) -> None: ...

    def credential(self, caller_id: str, kind: str) -> str | None: ...

    def add_email_code(self, code: EmailCode) -> None:
        """Store a new code; in the same transaction the caller's earlier unused codes end."""
        ...

    def email_code(self, code_id: str) -> EmailCode | None: ...

    def email_codes_since(self, caller_id: str, since: datetime) -> int:
        """How many codes were issued to the caller since ``since`` (rate limit)."""
        ...

    def claim_email_code_attempt(self, code_id: str, max_attempts: int) -> bool:
        """Atomically count one attempt; False when the code has no attempts left or is used."""
        ...

    def consume_email_code(self, code_id: str) -> bool:
        """Atomically mark the code used; False when it already was (single use)."""
        ...

    def claim_login_attempt(
        self, login_key: str, limit: int, window_opened_after: datetime, at: datetime
    ) -> bool:
        """Atomically count one password login attempt of ``login_key`` (a keyed hash of the
        login name, never the name) and say whether it may go ahead: True while at most
        ``limit`` attempts fall in its window. A window opened at or before
        ``window_opened_after`` is over: the attempt opens a new one at ``at``. Every process
        counts in the same store, so ``limit`` holds however many processes serve logins; windows
        that are over may be forgotten (the store stays bounded by the attempts of one window)."""
        ...

    def clear_login_attempts(self, login_key: str) -> None:
        """A login succeeded: its window is forgotten."""
        ...


class EmailOutbox(Protocol):
    """Delivers e-mail. Implementations never log the body (it may hold a login code)."""

    def send(
        self,
        to: str,
        subject: str,
        body: str,
        *,
        reference: str | None = None,
        expires_at: datetime | None = None,
    ) -> None:
        """Deliver a message; ``reference`` names it for :meth:`withdraw` and ``expires_at`` is
        when what it carries (a one-time code) stops being valid. Raises ``MailDeliveryError``
        when the message could not be handed over."""
        ...

    def withdraw(self, reference: str) -> None:
        """What the message of ``reference`` carried is used up: a copy kept on this side (the
        development file outbox) is removed; a delivered message is the recipient's."""
        ...


class PasswordHasher(Protocol):
    """A slow, salted password hash (argon2id in production). The hash names its own algorithm
    and parameters, so a stored hash stays verifiable when the settings change."""

    def hash(self, password: str) -> str:
        """A new hash (a new salt each time); raises PasswordHashingError when hashing fails."""
        ...

    def verify(self, password_hash: str, password: str) -> bool:
        """True only when ``password`` is the one ``password_hash`` was made of; False for a
        wrong password and for a hash this hasher cannot read (never raises for either)."""
        ...


class TokenSigner(Protocol):
    """Signs the claims of a bearer token and checks a token's signature (U1). The key lives
    outside the database. What the claims mean (issuer, subject, expiry against the clock) is
    the service's to check, not the signer's."""

    def sign(self, claims: Mapping[str, Any]) -> str: ...

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a token this signer signed; AuthenticationError for anything else (an
        altered token, another key's, not a token at all)."""
        ...
