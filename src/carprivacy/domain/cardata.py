"""CarData authorisation and the customer API's rules (SPEC C2, U1; notice section H).

Pure rules of the OAuth 2.0 Device Authorization Grant (RFC 8628) with PKCE S256 (RFC 7636) as
CarData clients speak it, and of the customer API's containers and call quotas:

- a CarData client id belongs to one person and carries the scopes it was created with
  (:data:`CLIENT_SCOPES`); a device grant asks for some of them;
- a device grant moves ``pending -> approved | denied``, and ``approved -> used`` once its tokens
  are issued (single use); past ``expires_at`` it is ``expired_token`` whatever its state;
  :func:`poll` is the token endpoint's whole decision, :func:`decide` the person's;
- user codes are 8 letters of a 20-consonant alphabet (RFC 8628 section 6.1: about 34.5 bits,
  no vowels, no look-alike characters), shown as ``XXXX-XXXX`` and read back in any case with
  or without the dash;
- a container names a purpose (the client's own words) and catalogue signal names.

Standard library only; times are passed in.
"""

from __future__ import annotations

import base64
import hashlib
import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from carprivacy.domain.errors import Problem

API_READ = "cardata:api:read"
STREAM_READ = "cardata:streaming:read"
CLIENT_SCOPES = frozenset({API_READ, STREAM_READ})
# asked for by every CarData client beside the CarData scopes; granted as asked
IDENTITY_SCOPES = frozenset({"openid", "authenticate_user"})
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
REFRESH_GRANT = "refresh_token"
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8
SLOW_DOWN_STEP = 5  # seconds added to the interval by each slow_down (RFC 8628 section 3.5)
VERIFIER_RE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")  # RFC 7636 section 4.1
CHALLENGE_RE = re.compile(r"[A-Za-z0-9_-]{43}")  # BASE64URL(SHA-256), no padding
MAX_DESCRIPTORS = 200
MAX_CONTAINERS = 20
_TEXT_RE = re.compile(r"[^\x00-\x1f\x7f]{1,100}")
_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_.]{0,99}")  # shaped like a signal name: echoed


class GrantStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    USED = "used"  # its tokens were issued: the grant is the family of its refresh tokens
    REVOKED = "revoked"  # a refresh token was used twice, or the client was deleted


class MappingType(StrEnum):
    PRIMARY = "PRIMARY"  # the vehicle's owner
    SECONDARY = "SECONDARY"  # a driver the vehicle is assigned to


class PollOutcome(StrEnum):
    """What the token endpoint answers a poll (RFC 8628 section 3.5, RFC 6749 section 5.2)."""

    PENDING = "authorization_pending"
    SLOW_DOWN = "slow_down"
    EXPIRED = "expired_token"
    DENIED = "access_denied"
    INVALID = "invalid_grant"
    ISSUE = "issue"  # approved: the tokens are issued now, once


@dataclass(frozen=True)
class CarDataClient:
    """A client id a person created for a CarData client of theirs, with its scopes."""

    id: str
    owner_id: str  # the caller (person) who created it and whose data it reads
    name: str
    scopes: frozenset[str]
    created_at: datetime


@dataclass(frozen=True)
class DeviceGrant:
    """One device authorisation request. The device code and the user code are kept as keyed
    hashes only; ``gcid`` is the account id the tokens will name, set on approval."""

    id: str
    client_id: str
    owner_id: str
    device_code_hash: str
    user_code_hash: str
    code_challenge: str
    scopes: frozenset[str]
    interval: int
    expires_at: datetime
    created_at: datetime
    status: GrantStatus = GrantStatus.PENDING
    last_poll_at: datetime | None = None
    gcid: str | None = None

    def expired(self, now: datetime) -> bool:
        return now >= self.expires_at


@dataclass(frozen=True)
class RefreshToken:
    """A refresh token (kept hashed) of a used grant: single use, rotated on every refresh."""

    token_hash: str
    grant_id: str
    expires_at: datetime
    created_at: datetime
    used: bool = False


@dataclass(frozen=True)
class Container:
    """A set of catalogue signals (technical descriptors) a person's client reads together."""

    id: str
    owner_id: str
    name: str
    purpose: str
    descriptors: tuple[str, ...]
    created_at: datetime
    deleted: bool = False


# -- PKCE and codes -----------------------------------------------------------------------------


def s256(verifier: str) -> str:
    """The S256 code challenge of a code verifier (RFC 7636 section 4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def verifier_matches(verifier: str | None, challenge: str) -> bool:
    if verifier is None or not VERIFIER_RE.fullmatch(verifier):
        return False
    return s256(verifier) == challenge


def format_user_code(raw: str) -> str:
    """``BCDFGHJK`` as shown to the person: ``BCDF-GHJK``."""
    half = len(raw) // 2
    return f"{raw[:half]}-{raw[half:]}"


def normalise_user_code(text: str) -> str | None:
    """The user code the person typed, as stored: upper case, without dashes and spaces; None
    when it cannot be a user code (wrong length or a letter outside the alphabet)."""
    folded = unicodedata.normalize("NFKC", text).upper()
    raw = "".join(ch for ch in folded if ch not in "- ")
    if len(raw) != USER_CODE_LENGTH or any(ch not in USER_CODE_ALPHABET for ch in raw):
        return None
    return raw


def scope_problems(requested: frozenset[str], client: frozenset[str]) -> list[Problem]:
    """Problems of a device grant's scope: no scope outside CarData's, and at least one CarData
    scope the client was created with (the grant gets those of the asked ones the client has,
    as the published service grants only the scopes a client is subscribed to)."""
    unknown = requested - CLIENT_SCOPES - IDENTITY_SCOPES
    problems = []
    if unknown:
        problems.append(Problem("scope", "invalid_scope", "a scope that is not a CarData scope"))
    asked = requested & CLIENT_SCOPES
    if not asked:
        problems.append(Problem("scope", "invalid_scope", f"ask for {API_READ} or {STREAM_READ}"))
    elif not asked & client:
        problems.append(Problem("scope", "invalid_scope", "the client id has none of these"))
    return problems


def granted_scopes(requested: frozenset[str], client: frozenset[str]) -> frozenset[str]:
    """What a grant gets: the asked CarData scopes the client has, and the identity scopes."""
    return (requested & client & CLIENT_SCOPES) | (requested & IDENTITY_SCOPES)


# -- the state machine --------------------------------------------------------------------------


def poll(
    grant: DeviceGrant | None, client_id: str, verifier: str | None, now: datetime
) -> tuple[PollOutcome, DeviceGrant | None]:
    """One poll of the token endpoint: its outcome and the grant as it is after the poll (the
    poll's time, and a longer interval after polling too fast).

    Order: an unknown, another client's or an already used grant is ``invalid_grant``; past its
    expiry ``expired_token``; a verifier that does not match the challenge ``invalid_grant`` (so
    a device code without its verifier learns nothing of the grant's state); then a denied
    grant ``access_denied``, an approved one is issued, and a pending one polled sooner than
    ``interval`` after the previous poll is ``slow_down`` (the interval grows by 5 seconds),
    else ``authorization_pending``."""
    if grant is None or grant.client_id != client_id:
        return PollOutcome.INVALID, grant
    if grant.status in (GrantStatus.USED, GrantStatus.REVOKED):
        return PollOutcome.INVALID, grant
    if grant.expired(now):
        return PollOutcome.EXPIRED, grant
    if not verifier_matches(verifier, grant.code_challenge):
        return PollOutcome.INVALID, grant
    too_fast = grant.last_poll_at is not None and now - grant.last_poll_at < timedelta(
        seconds=grant.interval
    )
    interval = grant.interval + SLOW_DOWN_STEP if too_fast else grant.interval
    polled = replace(grant, last_poll_at=now, interval=interval)
    if grant.status is GrantStatus.DENIED:
        return PollOutcome.DENIED, polled
    if grant.status is GrantStatus.APPROVED:
        return PollOutcome.ISSUE, polled
    return (PollOutcome.SLOW_DOWN if too_fast else PollOutcome.PENDING), polled


def decide(
    grant: DeviceGrant, approver_id: str, approve: bool, now: datetime
) -> GrantStatus | None:
    """The person's answer to a user code: the new status, or None when this person cannot
    answer it (another person's client, already answered, or expired: all answered alike)."""
    if grant.owner_id != approver_id or grant.status is not GrantStatus.PENDING:
        return None
    if grant.expired(now):
        return None
    return GrantStatus.APPROVED if approve else GrantStatus.DENIED


# -- the customer API ---------------------------------------------------------------------------


def mapping_type(kind: str) -> MappingType | None:
    """The CarData mapping of a usage period: the owner's is PRIMARY, a driver's SECONDARY; a
    fleet's period names no person."""
    return {"owner": MappingType.PRIMARY, "driver": MappingType.SECONDARY}.get(kind)


def container_problems(
    name: object, purpose: object, descriptors: object, known: frozenset[str]
) -> list[Problem]:
    """Problems of a new container: a name and a purpose (1-100 characters, no control
    characters), 1 to 200 distinct descriptors, each a signal of the catalogue (an unknown one
    is named: signal names are the catalogue's, never personal data)."""
    problems = []
    for path, value in (("name", name), ("purpose", purpose)):
        if not isinstance(value, str) or not value.strip() or not _TEXT_RE.fullmatch(value):
            problems.append(Problem(path, "text", "1 to 100 characters without control characters"))
    if not isinstance(descriptors, list | tuple) or not descriptors:
        problems.append(
            Problem("technicalDescriptors", "min_items", "name at least one descriptor")
        )
        return problems
    if len(descriptors) > MAX_DESCRIPTORS:
        problems.append(
            Problem("technicalDescriptors", "max_items", f"at most {MAX_DESCRIPTORS} descriptors")
        )
        return problems
    seen: set[str] = set()
    for i, item in enumerate(descriptors):
        if not isinstance(item, str) or item not in known:
            shown = item if isinstance(item, str) and _NAME_RE.fullmatch(item) else "?"
            problems.append(
                Problem(
                    f"technicalDescriptors.{i}",
                    "unknown_descriptor",
                    f"{shown!r} is not a descriptor of the catalogue (GET /v1/catalogue)",
                )
            )
        elif item in seen:
            problems.append(Problem(f"technicalDescriptors.{i}", "unique", "given twice"))
        else:
            seen.add(item)
    return problems


@dataclass(frozen=True)
class QuotaState:
    """How many calls of a window are left, and when the window ends."""

    limit: int
    used: int
    resets_at: datetime

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    @property
    def exceeded(self) -> bool:
        return self.used > self.limit

    def retry_after(self, now: datetime) -> int:
        """Whole seconds until the window ends (at least 1)."""
        return max(1, int((self.resets_at - now).total_seconds() + 0.999))
