"""Callers and decisions: who asks, and what the policy engine answers (SPEC U1-U4).

Shared vocabulary of the decision engine (``domain/decisions.py``), the caller model and the audit
log. Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from carprivacy.domain.policy import Form


class CallerKind(StrEnum):
    PERSON = "person"  # staff member or customer, logged in with password or e-mail code
    MACHINE = "machine"  # partner, third party, internal service: OAuth2 client credentials
    VEHICLE = "vehicle"  # a car sending telemetry with its per-vehicle credential


class Role(StrEnum):
    CUSTOMER_SERVICE = "customer_service"
    PRIVACY_OFFICER = "privacy_officer"
    RND_ANALYST = "rnd_analyst"
    DEALER = "dealer"  # dealer or workshop user
    FLEET_MANAGER = "fleet_manager"
    AUTHORITY_LIAISON = "authority_liaison"
    ADMINISTRATOR = "administrator"
    CUSTOMER = "customer"
    PARTNER = "partner"  # machine caller of a recipient organisation
    SERVICE = "service"  # internal machine caller of a controller
    VEHICLE = "vehicle"


@dataclass(frozen=True)
class Caller:
    """An authenticated caller.

    ``organisation`` is a recipient id or a controller id of the policy.
    """

    id: str
    kind: CallerKind
    role: Role
    organisation: str
    scopes: frozenset[str] = frozenset()
    subject_id: str | None = None  # for customers: the data subject they are
    fleet_id: str | None = None  # for fleet managers: the fleet they manage


class Outcome(StrEnum):
    ALLOW = "allow"
    DENY = "deny"


@dataclass(frozen=True)
class Reason:
    """Why: the policy rule, the GDPR article and the notice section it comes from."""

    rule: str  # stable rule id, e.g. "consent.required", "objection.art21"
    article: str  # e.g. "Art. 6(1)(a) GDPR"
    section: str  # notice section, e.g. "F" or "Rechten als betrokkene"
    message: str  # human explanation without personal data

    def __str__(self) -> str:
        return f"{self.rule} ({self.article}; notice {self.section}): {self.message}"


@dataclass(frozen=True)
class Decision:
    """The engine's answer. ``form`` and ``fields`` say how data may be released when allowed."""

    outcome: Outcome
    purpose: str
    categories: tuple[str, ...]
    reasons: tuple[Reason, ...]
    form: Form | None = None
    fields: dict[str, tuple[str, ...]] | None = None  # per category: allowed fields (minimised)
    at: datetime | None = None
    # Whom the data is about as the engine resolved it (the request's subject, else the user of
    # the vehicle at ``at``): the audit log pseudonymises it, so vehicle-only reads count too (U3).
    subject_id: str | None = None

    @property
    def allowed(self) -> bool:
        return self.outcome is Outcome.ALLOW

    @property
    def rule(self) -> str:
        """The deciding rule: the first reason (for a deny, the rule that refused)."""
        return self.reasons[0].rule if self.reasons else ""


@dataclass(frozen=True)
class DecisionRequest:
    caller: Caller
    purpose: str
    categories: tuple[str, ...]
    at: datetime
    subject_id: str | None = None
    vehicle_id: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
