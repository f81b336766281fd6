"""CarData authorisation as CarData clients expect it (SPEC C2, U1; RFC 8628, RFC 7636).

- a customer creates a client id for a CarData client of theirs and picks its scopes
  (:meth:`CarDataAuthorisation.create_client`), lists and deletes them (deleting revokes every
  token of the client);
- the client asks for a device code with its PKCE S256 challenge (:meth:`start`); the device
  code and the user code are kept as keyed hashes only, expire, and are used once;
- the customer approves or denies the user code (:meth:`answer`), logged in as themselves; every
  attempt counts against the person in the shared store (guessing is paused), and only the
  client's own person can answer its codes (another person's code answers as an unknown one);
- the client polls the token endpoint (:meth:`token`) and gets RFC 8628's errors until then
  (the state machine is ``domain/cardata.py``'s :func:`~carprivacy.domain.cardata.poll`),
  then an access token, a refresh token, an id token and the account id as ``gcid``;
- refresh tokens rotate (:meth:`refresh`): each is used once; a used one presented again
  revokes the whole grant (every token issued from it), as RFC 9700 section 4.14 advises;
- :meth:`authenticate` turns a CarData access token into the caller it reads as, and
  :meth:`authenticate_id_token` an id token (the stream's password).

Tokens are the identity room's signed tokens (``TokenSigner``) with the audience ``cardata``:
they open the CarData API only, never the platform's own routes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from carprivacy.domain.access import Caller, Role
from carprivacy.domain.cardata import (
    CHALLENGE_RE,
    CLIENT_SCOPES,
    DEVICE_CODE_GRANT,
    IDENTITY_SCOPES,
    REFRESH_GRANT,
    STREAM_READ,
    USER_CODE_ALPHABET,
    USER_CODE_LENGTH,
    CarDataClient,
    DeviceGrant,
    GrantStatus,
    PollOutcome,
    RefreshToken,
    decide,
    format_user_code,
    granted_scopes,
    normalise_user_code,
    poll,
    scope_problems,
)
from carprivacy.domain.cardata_stream import StreamCredential
from carprivacy.domain.errors import (
    AccessDeniedError,
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    OAuthGrantError,
    Problem,
    RateLimitedError,
)
from carprivacy.services.cardata.ports import AuthorisationRepository
from carprivacy.services.identity.ports import CallerRepository, TokenSigner
from carprivacy.services.identity.tokens import AccessTokens
from carprivacy.services.ports.clock import Clock

AUDIENCE = "cardata"
ID_TOKEN_AUDIENCE = "cardata:id"
MAX_CLIENTS = 20
CUSTOMER_ONLY = ("cardata.customer_only (Art. 15, Art. 20 GDPR; notice H): CarData clients read "
                 "a customer's own data",)  # fmt: skip


@dataclass(frozen=True)
class AuthorisationSettings:
    device_code_ttl: timedelta = timedelta(minutes=10)
    interval: int = 5  # seconds between polls
    access_token_ttl: timedelta = timedelta(hours=1)
    refresh_token_ttl: timedelta = timedelta(days=14)
    verification_uri: str = "http://localhost:8000/portal/cardata/device"
    user_code_attempts: int = 10  # answers per person in one window ...
    user_code_pause: timedelta = timedelta(minutes=5)  # ... that lasts this long


@dataclass(frozen=True)
class DeviceAuthorisation:
    """The device authorisation response (RFC 8628 section 3.2)."""

    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: int
    interval: int


@dataclass(frozen=True)
class TokenSet:
    """The token response as CarData clients read it."""

    access_token: str
    refresh_token: str
    id_token: str
    expires_in: int
    scope: str
    gcid: str
    token_type: str = "Bearer"


@dataclass(frozen=True)
class GrantAnswered:
    """What the person sees of the grant they answered: the client and the scopes it gets."""

    client_id: str
    client_name: str
    scopes: frozenset[str]
    status: GrantStatus


@dataclass(frozen=True)
class CarDataCaller:
    """Who a CarData token reads as: the person, through which client and grant, with which
    CarData scopes, under which account id."""

    caller: Caller
    client_id: str
    grant_id: str
    gcid: str
    scopes: frozenset[str]


class CarDataAuthorisation:
    def __init__(
        self,
        repository: AuthorisationRepository,
        callers: CallerRepository,
        signer: TokenSigner,
        key: bytes,
        clock: Clock,
        gcid_of: Callable[[str], str],
        settings: AuthorisationSettings | None = None,
    ) -> None:
        """``key`` (32 bytes or more, outside the database) keys the hashes of device codes,
        user codes and refresh tokens; ``gcid_of(subject_id)`` is the account id a customer's
        tokens name."""
        if len(key) < 32:
            raise ValueError("the CarData code key must be at least 32 bytes")
        self.repository = repository
        self.callers = callers
        self.settings = settings or AuthorisationSettings()
        self.clock = clock
        self._key = key
        self._gcid_of = gcid_of
        self._access = AccessTokens(signer, self.settings.access_token_ttl)
        # told of every id token issued with cardata:streaming:read (the stream's password)
        self.stream_listeners: list[Callable[[StreamCredential, str], None]] = []

    # -- the person's client ids -------------------------------------------------------------

    def create_client(self, caller: Caller, name: str, scopes: Iterable[str]) -> CarDataClient:
        _customer(caller)
        wanted = frozenset(scopes)
        problems = []
        if not isinstance(name, str) or not 1 <= len(name.strip()) <= 100:
            problems.append(Problem("name", "text", "1 to 100 characters"))
        if not wanted or not wanted <= CLIENT_SCOPES:
            allowed = ", ".join(sorted(CLIENT_SCOPES))
            problems.append(Problem("scopes", "one_of", f"one or more of {allowed}"))
        if problems:
            raise InvalidInputError(problems)
        if len(self.repository.clients_of(caller.id)) >= MAX_CLIENTS:
            raise ConflictError(f"at most {MAX_CLIENTS} CarData clients per person")
        client = CarDataClient(str(uuid.uuid4()), caller.id, name.strip(), wanted, self.clock())
        self.repository.add_client(client)
        return client

    def clients(self, caller: Caller) -> list[CarDataClient]:
        _customer(caller)
        return self.repository.clients_of(caller.id)

    def delete_client(self, caller: Caller, client_id: str) -> None:
        """Delete one of the person's clients; every token issued to it stops at once."""
        _customer(caller)
        client = self.repository.client(client_id)
        if client is None or client.owner_id != caller.id:
            raise NotFoundError("CarData client", client_id)
        self.repository.delete_client(client_id)

    # -- the device authorisation request ----------------------------------------------------

    def start(
        self,
        client_id: str,
        response_type: str | None,
        scope: str | None,
        code_challenge: str | None,
        code_challenge_method: str | None,
    ) -> DeviceAuthorisation:
        client = self._client(client_id)
        if response_type != "device_code":
            raise OAuthGrantError("invalid_request", "response_type must be device_code")
        if code_challenge_method != "S256":
            raise OAuthGrantError("invalid_request", "code_challenge_method must be S256")
        if code_challenge is None or not _challenge_ok(code_challenge):
            raise OAuthGrantError(
                "invalid_request", "code_challenge must be BASE64URL(SHA-256(code_verifier))"
            )
        requested = frozenset((scope or "").split())
        problems = scope_problems(requested, client.scopes)
        if problems:
            raise OAuthGrantError("invalid_scope", problems[0].message)
        now = self.clock()
        s = self.settings
        device_code = secrets.token_urlsafe(32)
        for _ in range(5):  # a user code already taken by a live grant: draw another
            raw = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))
            grant = DeviceGrant(
                id=str(uuid.uuid4()),
                client_id=client.id,
                owner_id=client.owner_id,
                device_code_hash=self._hash("device-code", device_code),
                user_code_hash=self._hash("user-code", raw),
                code_challenge=code_challenge,
                scopes=granted_scopes(requested, client.scopes),
                interval=s.interval,
                expires_at=now + s.device_code_ttl,
                created_at=now,
            )
            try:
                self.repository.add_grant(grant)
            except ConflictError:
                continue
            user_code = format_user_code(raw)
            return DeviceAuthorisation(
                device_code=device_code,
                user_code=user_code,
                verification_uri=s.verification_uri,
                verification_uri_complete=f"{s.verification_uri}?user_code={user_code}",
                expires_in=int(s.device_code_ttl.total_seconds()),
                interval=s.interval,
            )
        raise ConflictError("no free user code: try again")  # pragma: no cover - 20^8 codes

    # -- the person's answer -----------------------------------------------------------------

    def pending_grant(self, caller: Caller, user_code: str, *, count: bool = True) -> DeviceGrant:
        """The pending grant of ``user_code`` of ANOTHER caller's client (a third party's, whose
        share request the customer answers), counted as :meth:`answer` counts (``count``
        False: this attempt was counted already); an unknown, expired, answered or the
        person's own code answer alike (404)."""
        _customer(caller)
        now = self.clock()
        if count:
            self._count_attempt(caller, now)
        raw = normalise_user_code(user_code) if isinstance(user_code, str) else None
        grant = self.repository.grant_by_user_code(self._hash("user-code", raw)) if raw else None
        if (
            grant is None
            or grant.owner_id == caller.id
            or grant.status is not GrantStatus.PENDING
            or grant.expired(now)
        ):
            raise NotFoundError("user code", "")
        return grant

    def answer_for(self, caller: Caller, grant: DeviceGrant, approve: bool) -> GrantStatus:
        """Answer another party's pending grant as ``caller``; its tokens name an account of
        their own (one per party and customer: the party's stream never shares the customer's
        broker account); NotFoundError when it was answered meanwhile."""
        _customer(caller)
        status = GrantStatus.APPROVED if approve else GrantStatus.DENIED
        gcid = None
        if approve:
            account = self._gcid_of(str(caller.subject_id))
            gcid = self._hash("third-party-account", f"{grant.owner_id}\0{account}")[:32]
        if not self.repository.set_status(grant.id, GrantStatus.PENDING, status, gcid):
            raise NotFoundError("user code", "")
        return status

    def _count_attempt(self, caller: Caller, now: datetime) -> None:
        s = self.settings
        key = self._hash("user-code-attempts", caller.id)
        if not self.callers.claim_login_attempt(
            key, s.user_code_attempts, now - s.user_code_pause, now
        ):
            seconds = int(s.user_code_pause.total_seconds())
            raise RateLimitedError("too many user code attempts: try again later", seconds, 0)

    def answer(self, caller: Caller, user_code: str, approve: bool) -> GrantAnswered:
        """Approve (or deny) the grant of ``user_code`` as ``caller``. Every attempt counts
        first (in the shared store, so several processes cannot multiply the guesses); an
        unknown, expired, answered or another person's code answer alike (404)."""
        _customer(caller)
        s = self.settings
        now = self.clock()
        key = self._hash("user-code-attempts", caller.id)
        if not self.callers.claim_login_attempt(
            key, s.user_code_attempts, now - s.user_code_pause, now
        ):
            seconds = int(s.user_code_pause.total_seconds())
            raise RateLimitedError("too many user code attempts: try again later", seconds, 0)
        raw = normalise_user_code(user_code) if isinstance(user_code, str) else None
        grant = self.repository.grant_by_user_code(self._hash("user-code", raw)) if raw else None
        status = decide(grant, caller.id, approve, now) if grant is not None else None
        if grant is None or status is None:
            raise NotFoundError("user code", "")
        gcid = self._gcid_of(str(caller.subject_id)) if approve else None
        if not self.repository.set_status(grant.id, GrantStatus.PENDING, status, gcid):
            raise NotFoundError("user code", "")
        client = self.repository.client(grant.client_id)
        return GrantAnswered(
            grant.client_id, client.name if client else "", grant.scopes - IDENTITY_SCOPES, status
        )

    # -- the token endpoint ------------------------------------------------------------------

    def token(
        self,
        grant_type: str | None,
        *,
        client_id: str | None,
        device_code: str | None = None,
        code_verifier: str | None = None,
        refresh_token: str | None = None,
    ) -> TokenSet:
        if grant_type == DEVICE_CODE_GRANT:
            return self._device_token(client_id, device_code, code_verifier)
        if grant_type == REFRESH_GRANT:
            return self._refresh(client_id, refresh_token)
        raise OAuthGrantError(
            "unsupported_grant_type", f"grant_type must be {DEVICE_CODE_GRANT} or {REFRESH_GRANT}"
        )

    def _device_token(
        self, client_id: str | None, device_code: str | None, verifier: str | None
    ) -> TokenSet:
        client = self._client(client_id)
        if not device_code:
            raise OAuthGrantError("invalid_request", "device_code is required")
        now = self.clock()
        grant = self.repository.grant_by_device_code(self._hash("device-code", device_code))
        outcome, polled = poll(grant, client.id, verifier, now)
        if polled is not None and polled is not grant and polled.last_poll_at is not None:
            self.repository.record_poll(polled.id, polled.last_poll_at, polled.interval)
        if outcome is PollOutcome.ISSUE:
            assert polled is not None
            # single use: of two concurrent polls of an approved grant, one gets the tokens
            if not self.repository.set_status(polled.id, GrantStatus.APPROVED, GrantStatus.USED):
                raise OAuthGrantError("invalid_grant", "the device code was already used")
            return self._issue(client, polled, now)
        raise OAuthGrantError(outcome.value, _POLL_TEXT[outcome])

    def _refresh(self, client_id: str | None, refresh_token: str | None) -> TokenSet:
        client = self._client(client_id)
        if not refresh_token:
            raise OAuthGrantError("invalid_request", "refresh_token is required")
        now = self.clock()
        used = self.repository.use_refresh_token(self._hash("refresh", refresh_token))
        grant = self.repository.grant(used.grant_id) if used is not None else None
        if used is None or grant is None or grant.client_id != client.id:
            raise OAuthGrantError("invalid_grant", "the refresh token is not valid")
        if used.used:
            # presented twice: someone else holds a copy; every token of the grant stops
            self.repository.set_status(grant.id, GrantStatus.USED, GrantStatus.REVOKED)
            raise OAuthGrantError("invalid_grant", "the refresh token was already used")
        if grant.status is not GrantStatus.USED or used.expires_at <= now:
            raise OAuthGrantError("invalid_grant", "the refresh token is not valid")
        return self._issue(client, grant, now)

    def _issue(self, client: CarDataClient, grant: DeviceGrant, now: datetime) -> TokenSet:
        record = self.callers.get(grant.owner_id)
        if record is None or record.disabled:
            raise OAuthGrantError("invalid_grant", "the person of this grant cannot log in")
        gcid = grant.gcid or record.id
        scopes = grant.scopes & client.scopes | (grant.scopes & IDENTITY_SCOPES)
        claims = {
            "role": record.role.value,
            "org": record.organisation,
            "kind": record.kind.value,
            "cid": client.id,
            "gcid": gcid,
            "grant": grant.id,
        }
        access = self._access.issue(record.id, claims, scopes, now, audience=AUDIENCE)
        identity = self._access.issue(
            gcid, {"cid": client.id, "grant": grant.id}, scopes, now, audience=ID_TOKEN_AUDIENCE
        )
        if STREAM_READ in scopes:
            credential = StreamCredential(
                gcid,
                record.id,
                client.id,
                grant.id,
                now + timedelta(seconds=identity.expires_in),
                now,
            )
            for listener in self.stream_listeners:
                listener(credential, identity.access_token)
        refresh = secrets.token_urlsafe(32)
        self.repository.add_refresh_token(
            RefreshToken(
                self._hash("refresh", refresh),
                grant.id,
                now + self.settings.refresh_token_ttl,
                now,
            )
        )
        return TokenSet(
            access_token=access.access_token,
            refresh_token=refresh,
            id_token=identity.access_token,
            expires_in=access.expires_in,
            scope=access.scope,
            gcid=gcid,
        )

    # -- tokens back in ----------------------------------------------------------------------

    def authenticate(self, token: str) -> CarDataCaller:
        """The caller of a CarData access token: signature, expiry, audience, and the grant,
        its client and its person all still valid (a deleted client or a revoked grant stops
        its tokens at once)."""
        verified = self._access.verify(token, self.clock())
        if verified.audience != AUDIENCE:
            raise AuthenticationError("the bearer token is not a CarData access token")
        return self._reader(verified.subject, verified.claims, verified.scopes)

    def authenticate_id_token(self, token: str) -> CarDataCaller:
        """The reader of a CarData id token (the stream's password): as :meth:`authenticate`."""
        verified = self._access.verify(token, self.clock())
        if verified.audience != ID_TOKEN_AUDIENCE:
            raise AuthenticationError("the token is not a CarData id token")
        grant = self.repository.grant(str(verified.claims.get("grant", "")))
        if grant is None:
            raise AuthenticationError("the CarData grant is not valid")
        return self._reader(grant.owner_id, verified.claims, verified.scopes)

    def _reader(
        self, subject: str, claims: dict[str, Any], scopes: frozenset[str]
    ) -> CarDataCaller:
        grant = self.repository.grant(str(claims.get("grant", "")))
        client = self.repository.client(str(claims.get("cid", "")))
        record = self.callers.get(subject)
        if (
            grant is None
            or grant.status is not GrantStatus.USED
            or client is None
            or grant.client_id != client.id
            or grant.owner_id != subject
            or record is None
            or record.disabled
        ):
            raise AuthenticationError("the CarData grant is not valid (revoked or deleted)")
        granted = scopes & client.scopes
        return CarDataCaller(
            record.to_caller(frozenset()), client.id, grant.id, grant.gcid or record.id, granted
        )

    # -- parts -------------------------------------------------------------------------------

    def _client(self, client_id: str | None) -> CarDataClient:
        client = self.repository.client(client_id) if client_id else None
        owner = self.callers.get(client.owner_id) if client is not None else None
        if client is None or owner is None or owner.disabled:
            raise OAuthGrantError("invalid_client", "the client id is unknown")
        return client

    def _hash(self, kind: str, value: str) -> str:
        return hmac.new(self._key, f"{kind}\0{value}".encode(), hashlib.sha256).hexdigest()


_POLL_TEXT = {
    PollOutcome.PENDING: "the person has not answered yet",
    PollOutcome.SLOW_DOWN: "polled sooner than the interval: wait 5 seconds more between polls",
    PollOutcome.EXPIRED: "the device code expired: ask for a new one",
    PollOutcome.DENIED: "the person denied the authorisation",
    PollOutcome.INVALID: "the device code or code_verifier is not valid",
}


def _challenge_ok(challenge: str) -> bool:
    return bool(CHALLENGE_RE.fullmatch(challenge))


def _customer(caller: Caller) -> None:
    if caller.role is not Role.CUSTOMER or caller.subject_id is None:
        raise AccessDeniedError("CarData clients are a customer's own", CUSTOMER_ONLY)


__all__ = [
    "AUDIENCE",
    "AuthorisationSettings",
    "CarDataAuthorisation",
    "CarDataCaller",
    "DeviceAuthorisation",
    "GrantAnswered",
    "TokenSet",
]
