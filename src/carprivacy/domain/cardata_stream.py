"""The CarData stream's rules (SPEC C2, U1, U2; notice section H): who may receive which vehicle's
values on the broker, and what a message is.

- A **stream credential** is the account's current id token with ``cardata:streaming:read``
  (the newest one issued wins): the broker account ``username = gcid``, password that token,
  valid until the token expires and while its grant is in force.
- A **stream entitlement** is one thing a connected identity may receive: one vehicle's values
  of some descriptors, read as one caller for one purpose. Every source of entitlements (the
  owner's own CarData clients; third-party shares) answers the same shape, and the broker is
  made to match their union (:func:`plan`).
- A message is published on ``{gcid}/{vin}``; its payload is the published CarData stream's
  ``{"vin": ..., "data": {descriptor: {"value", "unit", "timestamp"}}}``.

Standard library only; times are passed in.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

STREAM_PURPOSE = "cardata_sharing"  # the purpose every stream read names (notice H)
ROLE_PREFIX = "carprivacy-stream:"  # the broker role of one stream account


@dataclass(frozen=True)
class StreamCredential:
    """The current stream password of an account: which token (grant, client) and until when."""

    gcid: str
    owner_id: str  # the caller (person) whose token it is
    client_id: str
    grant_id: str
    expires_at: datetime
    issued_at: datetime

    def live(self, now: datetime) -> bool:
        return now < self.expires_at


@dataclass(frozen=True)
class StreamEntitlement:
    """What a connected identity (``username``) may receive now: ``vin``'s values of
    ``descriptors``, read as ``caller_id`` under ``purpose`` (the ``reading`` the gate decides;
    kept opaque here: the domain does not know the gate's types)."""

    username: str
    vin: str
    vehicle_id: str
    subject_id: str | None
    descriptors: tuple[str, ...]
    credential: str  # which credential (token family) this rests on: a change is a new login
    reading: object = field(compare=False, hash=False, default=None)


class Action(StrEnum):
    ALLOW = "allow"  # receive the topics of these VINs (added to the account's role)
    REVOKE = "revoke"  # no longer these VINs: removed, and the account's connections closed
    DISABLE = "disable"  # nothing to receive: every connection closed, new ones refused
    ENABLE = "enable"  # something to receive again, with the same (still valid) token
    DELETE = "delete"  # the token expired or its grant ended: the broker forgets the account


@dataclass(frozen=True)
class Step:
    action: Action
    username: str
    vins: tuple[str, ...] = ()


@dataclass(frozen=True)
class Provisioned:
    """What the broker holds of one stream account: the VINs its role lets it receive, and
    whether it may connect."""

    vins: frozenset[str]
    enabled: bool


def topic(gcid: str, vin: str) -> str:
    return f"{gcid}/{vin}"


def subscription_filter(gcid: str) -> str:
    return f"{gcid}/#"


def role_name(username: str) -> str:
    return f"{ROLE_PREFIX}{username}"


def message(vin: str, data: Mapping[str, Mapping[str, str | None]]) -> bytes:
    """The published stream message: ``{"vin", "data": {descriptor: {value, unit, timestamp}}}``."""
    body = {"vin": vin, "data": {k: dict(v) for k, v in data.items()}}
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


def by_username(entitlements: Iterable[StreamEntitlement]) -> dict[str, frozenset[str]]:
    """The VINs each identity may receive now."""
    out: dict[str, set[str]] = {}
    for e in entitlements:
        out.setdefault(e.username, set()).add(e.vin)
    return {u: frozenset(v) for u, v in out.items()}


def plan(
    live: Iterable[str],
    wanted: Mapping[str, frozenset[str]],
    held: Mapping[str, Provisioned],
) -> list[Step]:
    """The broker steps that make ``held`` (what the broker has) match the rules.

    ``live``: the usernames whose credential is valid now (token not expired, grant in force);
    ``wanted``: what each may receive now (from every entitlement source). An account held but
    not live is deleted; a live one with nothing to receive is disabled (its connections
    closed, its token refused until it may receive again); VINs it may no longer receive are
    revoked (its connections closed, so no subscription outlives the right); new VINs are
    allowed. Deterministic: accounts in name order."""
    live_set = set(live)
    steps: list[Step] = []
    for username in sorted(held):
        state = held[username]
        if username not in live_set:
            steps.append(Step(Action.DELETE, username))
            continue
        vins = wanted.get(username, frozenset())
        gone = state.vins - vins
        new = vins - state.vins
        if gone:
            steps.append(Step(Action.REVOKE, username, tuple(sorted(gone))))
        if new:
            steps.append(Step(Action.ALLOW, username, tuple(sorted(new))))
        if not vins and state.enabled:
            steps.append(Step(Action.DISABLE, username))
        elif vins and not state.enabled:
            steps.append(Step(Action.ENABLE, username))
    return steps


def over_limit(connections: Sequence[str], limit: int) -> list[str]:
    """Of one account's connections (client ids, oldest first), those past ``limit``: the
    newest ones, so that a connection that works is never the one closed."""
    return list(connections[limit:]) if limit >= 0 else []


def apply(held: Mapping[str, Provisioned], steps: Sequence[Step]) -> dict[str, Provisioned]:
    """``held`` after ``steps`` (what the reconciler expects the broker to hold next)."""
    out = dict(held)
    for s in steps:
        state = out.get(s.username, Provisioned(frozenset(), True))
        if s.action is Action.DELETE:
            out.pop(s.username, None)
        elif s.action is Action.REVOKE:
            out[s.username] = Provisioned(state.vins - set(s.vins), state.enabled)
        elif s.action is Action.ALLOW:
            out[s.username] = Provisioned(state.vins | set(s.vins), state.enabled)
        elif s.action is Action.DISABLE:
            out[s.username] = Provisioned(state.vins, False)
        elif s.action is Action.ENABLE:
            out[s.username] = Provisioned(state.vins, True)
    return out
