"""Callers and their credentials (SPEC U1).

- people log in with a password (a slow salted hash: the ``PasswordHasher`` port) or a one-time
  e-mail code (hashed, short expiry);
- machines use OAuth2 client credentials (client id + secret, the secret stored hashed);
- every login yields a signed (the ``TokenSigner`` port), short-lived token carrying the caller's
  id, role, organisation and scopes; every request re-checks that the caller still exists and is
  not disabled.

Each caller belongs to an organisation that is a recipient or a controller of the policy.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from carprivacy.domain.access import Caller, CallerKind, Role
from carprivacy.domain.errors import (
    AuthenticationError,
    InvalidInputError,
    MailDeliveryError,
    NotFoundError,
    Problem,
)
from carprivacy.domain.policy import Policy
from carprivacy.services.identity.ports import (
    CallerRepository,
    EmailOutbox,
    PasswordHasher,
    TokenSigner,
)
from carprivacy.services.identity.tokens import AccessTokens, Token
from carprivacy.services.ports.clock import Clock

PASSWORD = "password"
CLIENT_SECRET = "client_secret"
MACHINE_ROLES = frozenset({Role.PARTNER, Role.SERVICE, Role.AUTHORITY_LIAISON})
PERSON_ROLES = frozenset(Role) - {Role.PARTNER, Role.SERVICE, Role.VEHICLE}
MIN_PASSWORD = 12
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SCOPE_RE = re.compile(r"^[a-z][a-z0-9_.:-]{0,63}$")
E = TypeVar("E", bound=StrEnum)


@dataclass(frozen=True)
class CallerRecord:
    id: str
    name: str
    kind: CallerKind
    role: Role
    organisation: str
    scopes: frozenset[str]
    created_at: datetime
    email: str | None = None
    subject_id: str | None = None
    fleet_id: str | None = None
    disabled: bool = False

    def to_caller(self, scopes: frozenset[str] | None = None) -> Caller:
        return Caller(
            id=self.id,
            kind=self.kind,
            role=self.role,
            organisation=self.organisation,
            scopes=self.scopes if scopes is None else scopes,
            subject_id=self.subject_id,
            fleet_id=self.fleet_id,
        )


@dataclass(frozen=True)
class EmailCode:
    id: str
    caller_id: str
    code_hash: str
    expires_at: datetime
    created_at: datetime
    attempts: int = 0
    used: bool = False


@dataclass(frozen=True)
class CallerSettings:
    token_ttl: timedelta = timedelta(minutes=15)
    code_ttl: timedelta = timedelta(minutes=10)
    code_attempts: int = 5
    codes_per_hour: int = 5  # codes issued per caller per hour (brute force, mail bombing)
    login_failures: int = 10  # password login attempts per login name in one window ...
    login_pause: timedelta = timedelta(minutes=5)  # ... that lasts this long (in the store: the
    # limit holds across every process that serves logins)


class CallerService:
    def __init__(
        self,
        repository: CallerRepository,
        policy: Policy,
        outbox: EmailOutbox,
        code_key: bytes,
        clock: Clock,
        settings: CallerSettings | None = None,
        *,
        passwords: PasswordHasher,
        tokens: TokenSigner,
    ) -> None:
        """``code_key`` (32 bytes or more, outside the database) keys the hashes of e-mail
        codes; ``passwords`` hashes passwords; ``tokens`` signs the bearer tokens."""
        if len(code_key) < 32:
            raise ValueError("the e-mail code key must be at least 32 bytes")
        self.repository = repository
        self.policy = policy
        self.outbox = outbox
        self._key = code_key
        self._tokens = AccessTokens(tokens, (settings or CallerSettings()).token_ttl)
        self.clock = clock
        self.settings = settings or CallerSettings()
        self._hasher = passwords
        # verifying against this keeps unknown callers as slow as known ones (no enumeration)
        self._dummy_hash = self._hasher.hash(secrets.token_hex(16))
        # organisations registered at run time as recipients (CarData third parties): wired in
        # bootstrap to the third-party registry
        self.registered_organisations: Callable[[], Iterable[str]] = tuple

    # -- administration -----------------------------------------------------------------------
    def organisations(self) -> frozenset[str]:
        registered = frozenset(self.registered_organisations())
        policy = frozenset(self.policy.recipients_by_id) | frozenset(self.policy.controllers_by_id)
        return policy | registered

    def create(
        self,
        *,
        name: str,
        kind: str,
        role: str,
        organisation: str,
        scopes: Iterable[str] = (),
        email: str | None = None,
        subject_id: str | None = None,
        fleet_id: str | None = None,
        password: str | None = None,
        generate_secret: bool = False,
        caller_id: str | None = None,
    ) -> tuple[CallerRecord, str | None]:
        """Create a caller; returns it and, with ``generate_secret``, the secret (shown once)."""
        problems: list[Problem] = []
        scope_set = frozenset(scopes)
        kind_v = _enum(CallerKind, kind, "kind", problems)
        role_v = _enum(Role, role, "role", problems)
        if not name.strip() or len(name) > 200:
            problems.append(Problem("name", "required", "1 to 200 characters"))
        if organisation not in self.organisations():
            problems.append(
                Problem("organisation", "policy_party", "must be a recipient or controller id")
            )
        if kind_v is CallerKind.VEHICLE:
            problems.append(Problem("kind", "not_here", "vehicles get telemetry credentials"))
        if kind_v is CallerKind.MACHINE and role_v is not None and role_v not in MACHINE_ROLES:
            problems.append(Problem("role", "machine_role", "machines are partner or service"))
        if kind_v is CallerKind.PERSON and role_v is not None and role_v not in PERSON_ROLES:
            problems.append(Problem("role", "person_role", "not a role for people"))
        if role_v is Role.CUSTOMER and not subject_id:
            problems.append(
                Problem("subject_id", "required", "a customer caller names its subject")
            )
        if role_v is Role.FLEET_MANAGER and not fleet_id:
            problems.append(Problem("fleet_id", "required", "a fleet manager names the fleet"))
        problems += [
            Problem("scopes", "format", "lower-case words like cardata:read")
            for s in scope_set
            if not SCOPE_RE.match(s)
        ][:1]
        if email is not None and not EMAIL_RE.match(email):
            problems.append(Problem("email", "format", "not an e-mail address"))
        if password is not None:
            if kind_v is CallerKind.MACHINE:
                problems.append(Problem("password", "machine", "machines use client credentials"))
            elif len(password) < MIN_PASSWORD:
                problems.append(
                    Problem("password", "min_length", f"at least {MIN_PASSWORD} characters")
                )
        if generate_secret and kind_v is not CallerKind.MACHINE:
            problems.append(Problem("generate_secret", "person", "only machines get a secret"))
        if caller_id is not None and not SCOPE_RE.match(caller_id):
            problems.append(Problem("id", "format", "lower-case letters, digits, _ . : -"))
        if problems:
            raise InvalidInputError(problems)
        assert kind_v is not None and role_v is not None
        now = self.clock()
        record = CallerRecord(
            id=caller_id
            or f"{'m' if kind_v is CallerKind.MACHINE else 'p'}_{secrets.token_hex(8)}",
            name=name.strip(),
            kind=kind_v,
            role=role_v,
            organisation=organisation,
            scopes=scope_set,
            created_at=now,
            email=email.lower() if email else None,
            subject_id=subject_id,
            fleet_id=fleet_id,
        )
        # hash before writing anything: no half-written caller when hashing fails
        pw_hash = self._hasher.hash(password) if password is not None else None
        secret = secrets.token_urlsafe(32) if generate_secret else None
        credentials: dict[str, str] = {}
        if pw_hash is not None:
            credentials[PASSWORD] = pw_hash
        if secret is not None:
            credentials[CLIENT_SECRET] = _secret_hash(secret)
        # one transaction: a crash cannot leave a caller without its credential (re-creating
        # it would then conflict)
        self.repository.add(record, credentials)
        return record, secret

    def list(self) -> list[CallerRecord]:
        return self.repository.list()

    def get(self, caller_id: str) -> CallerRecord:
        record = self.repository.get(caller_id)
        if record is None:
            raise NotFoundError("caller", caller_id)
        return record

    def set_disabled(self, caller_id: str, disabled: bool = True) -> CallerRecord:
        self.get(caller_id)
        self.repository.set_disabled(caller_id, disabled)
        return self.get(caller_id)

    def set_password(self, caller_id: str, password: str) -> None:
        record = self.get(caller_id)
        if record.kind is not CallerKind.PERSON:
            raise InvalidInputError([Problem("password", "machine", "only people have passwords")])
        if len(password) < MIN_PASSWORD:
            raise InvalidInputError(
                [Problem("password", "min_length", f"at least {MIN_PASSWORD} characters")]
            )
        self.repository.set_credential(
            caller_id, PASSWORD, self._hasher.hash(password), self.clock()
        )

    def rotate_secret(self, caller_id: str) -> str:
        record = self.get(caller_id)
        if record.kind is not CallerKind.MACHINE:
            raise InvalidInputError([Problem("id", "person", "only machines have a secret")])
        secret = secrets.token_urlsafe(32)
        self.repository.set_credential(caller_id, CLIENT_SECRET, _secret_hash(secret), self.clock())
        return secret

    # -- logins -------------------------------------------------------------------------------
    def login_password(self, login: str, password: str) -> Token:
        """A token for a person's password. Every attempt counts against the login name (in the
        store, before the hash is checked, so concurrent guesses in several processes cannot
        overrun the limit): beyond ``login_failures`` attempts in ``login_pause`` the name is
        paused until its window ends; a successful login clears it."""
        key = self._login_key(login)
        now = self.clock()
        allowed = self.repository.claim_login_attempt(
            key, self.settings.login_failures, now - self.settings.login_pause, now
        )
        if not allowed:
            raise AuthenticationError("too many failed logins: try again later")
        record = self.repository.by_email(login.lower()) or self.repository.get(login)
        stored = self.repository.credential(record.id, PASSWORD) if record else None
        matches = self._hasher.verify(stored or self._dummy_hash, password)
        valid = matches and stored is not None
        if not valid or record is None or record.disabled:
            raise AuthenticationError("the login or password is not valid")
        self.repository.clear_login_attempts(key)
        return self.issue(record)

    def _login_key(self, login: str) -> str:
        """The throttle's key of a login name: keyed, so the store holds no login name."""
        return hmac.new(self._key, b"login\0" + login.lower().encode(), hashlib.sha256).hexdigest()

    def start_email_code(self, email: str) -> str:
        """Send a one-time code; returns the code id. Unknown addresses get an id and no mail."""
        code_id = secrets.token_urlsafe(16)
        record = self.repository.by_email(email.lower())
        if (
            record is None
            or record.disabled
            or record.kind is not CallerKind.PERSON
            or record.email is None  # erased: the address is gone
        ):
            return code_id
        now = self.clock()
        if (
            self.repository.email_codes_since(record.id, now - timedelta(hours=1))
            >= self.settings.codes_per_hour
        ):
            return code_id  # the same answer as for an unknown address: no mail, no hint
        code = f"{secrets.randbelow(1_000_000):06d}"
        self.repository.add_email_code(
            EmailCode(
                code_id,
                record.id,
                self._code_hash(code_id, code),
                now + self.settings.code_ttl,
                now,
            )
        )
        minutes = int(self.settings.code_ttl.total_seconds() // 60)
        body = f"Your login code is {code}. It is valid for {minutes} minutes and can be used once."
        try:
            self.outbox.send(
                record.email,
                "Your carprivacy login code",
                body,
                reference=code_id,
                expires_at=now + self.settings.code_ttl,
            )
        except MailDeliveryError:
            # not sent: the code is spent, so no code exists that nobody received; the answer
            # stays the one every address gets (an outage must not tell known addresses apart)
            self.repository.consume_email_code(code_id)
        return code_id

    def verify_email_code(self, code_id: str, code: str) -> Token:
        stored = self.repository.email_code(code_id)
        now = self.clock()
        if stored is not None and stored.expires_at <= now:
            self.outbox.withdraw(code_id)  # expired: a kept copy of the code goes
        if stored is None or stored.used or stored.expires_at <= now:
            raise AuthenticationError("the code is not valid or has expired")
        if not self.repository.claim_email_code_attempt(code_id, self.settings.code_attempts):
            raise AuthenticationError("too many attempts: ask for a new code")
        if not hmac.compare_digest(stored.code_hash, self._code_hash(code_id, code)):
            raise AuthenticationError("the code is not valid or has expired")
        if not self.repository.consume_email_code(code_id):
            raise AuthenticationError("the code is not valid or has expired")
        self.outbox.withdraw(code_id)  # used: a kept copy of the code goes
        record = self.repository.get(stored.caller_id)
        if record is None or record.disabled:
            raise AuthenticationError("the code is not valid or has expired")
        return self.issue(record)

    def client_credentials(self, client_id: str, client_secret: str, scope: str | None) -> Token:
        record = self.repository.get(client_id)
        stored = self.repository.credential(client_id, CLIENT_SECRET) if record else None
        given = _secret_hash(client_secret)
        if (
            record is None
            or stored is None
            or not hmac.compare_digest(stored, given)
            or record.disabled
            or record.kind is not CallerKind.MACHINE
        ):
            raise AuthenticationError("invalid_client")
        requested = frozenset(scope.split()) if scope else record.scopes
        if not requested <= record.scopes:
            raise InvalidInputError([Problem("scope", "invalid_scope", "scope not granted")])
        return self.issue(record, requested)

    # -- tokens -------------------------------------------------------------------------------
    def issue(self, record: CallerRecord, scopes: frozenset[str] | None = None) -> Token:
        granted = record.scopes if scopes is None else scopes
        claims = {"role": record.role.value, "org": record.organisation, "kind": record.kind.value}
        return self._tokens.issue(record.id, claims, granted, self.clock())

    def authenticate(self, token: str) -> Caller:
        """The caller of a bearer token: signature, expiry, and the caller still enabled."""
        verified = self._tokens.verify(token, self.clock())
        if verified.audience is not None:
            # a token for another API (a CarData client's): it opens only that API
            raise AuthenticationError("the bearer token is not valid for this API")
        record = self.repository.get(verified.subject)
        if record is None or record.disabled:
            raise AuthenticationError("the caller is unknown or disabled")
        return record.to_caller(verified.scopes & record.scopes)

    def _code_hash(self, code_id: str, code: str) -> str:
        return hmac.new(
            self._key, f"email-code:{code_id}:{code}".encode(), hashlib.sha256
        ).hexdigest()


def _secret_hash(secret: str) -> str:
    """Client secrets are 256-bit random: SHA-256 resists guessing; slow hashes are for
    passwords."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _enum(cls: type[E], value: str, path: str, problems: list[Problem]) -> E | None:
    try:
        return cls(value)
    except ValueError:
        allowed = ", ".join(str(v) for v in cls)
        problems.append(Problem(path, "one_of", f"one of {allowed}"))
        return None


__all__ = [
    "CallerRecord",
    "CallerService",
    "CallerSettings",
    "EmailCode",
]
