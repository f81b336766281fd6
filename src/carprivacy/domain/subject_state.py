"""What a data subject said and what binds them: consents, objections, overrides, restrictions.

Each record is evidence (C4): who recorded it, when, through which channel, under which text
version. Records are intervals ``[start, end)``: a withdrawal, a lift or an end closes the interval,
it never deletes the record. :class:`SubjectFacts` is the snapshot the decision engine reads
(``domain/decisions.py``); it also carries the contracts and vehicle usage periods (master data)
that matter at the time of a decision.

Standard library only; no clock reads: every time is passed in (timezone-aware UTC).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


def covers(start: datetime, end: datetime | None, at: datetime) -> bool:
    """Is ``at`` inside the half-open interval ``[start, end)`` (``end`` None: still open)?"""
    return start <= at and (end is None or at < end)


class ConsentChoice(StrEnum):
    GIVEN = "given"  # opt-in topics: processing allowed while given and not withdrawn
    REFUSED = "refused"  # opt-out topics (OBFCM at the workshop): processing stops while refused


@dataclass(frozen=True)
class ConsentRecord:
    """C4: a consent (or, for opt-out topics, a refusal) with its evidence."""

    id: str
    subject_id: str
    topic: str  # a ConsentTopic id of the policy
    choice: ConsentChoice
    text_version: str  # the ConsentTextVersion the person saw
    channel: str  # how it was given: portal, app, vehicle, phone, paper, dealer
    given_at: datetime
    recorded_by: str  # caller id of whoever recorded it (the subject or staff)
    vehicle_id: str | None = None  # for vehicle-only settings (ConsentTopic.vehicle_only)
    withdrawn_at: datetime | None = None
    withdrawn_by: str | None = None
    withdrawal_channel: str | None = None
    party: str | None = None  # the chosen third party, for a per-party topic (CarData sharing)
    text_hash: str = ""  # SHA-256 of the rendered text the person saw (ledger entries)
    language: str = ""  # the language of that text
    actor: str = ""  # subject | staff: who recorded it (ledger entries)
    # A CarData share (domain/shares.py) as the engine reads it: ``party`` is the third party's
    # organisation, ``vehicle_id`` the one vehicle; it counts only for ``purpose``, for the
    # categories of ``scope`` (None: not a share), and withholds the fields of ``withheld``
    # (``category.field``: the catalogue signals outside the share's descriptors).
    purpose: str | None = None
    scope: frozenset[str] | None = None
    withheld: frozenset[str] = frozenset()

    def active(self, at: datetime) -> bool:
        return covers(self.given_at, self.withdrawn_at, at)


@dataclass(frozen=True)
class Objection:
    """R6: an Art. 21 objection to one purpose, to all legitimate-interest use, or to marketing.

    ``purpose`` None with ``marketing`` False objects to every legitimate-interest purpose.
    ``marketing`` True objects to direct marketing (Art. 21(2)): always honoured, no override
    (Art. 21(3)), whatever the legal basis of the marketing purpose.
    """

    id: str
    subject_id: str
    made_at: datetime
    recorded_by: str
    purpose: str | None = None
    marketing: bool = False
    grounds: str = ""  # the person's situation as they stated it (may be empty for marketing)
    withdrawn_at: datetime | None = None

    def active(self, at: datetime) -> bool:
        return covers(self.made_at, self.withdrawn_at, at)

    def applies_to(self, purpose_id: str, is_marketing: bool) -> bool:
        if self.marketing:
            return is_marketing
        return self.purpose is None or self.purpose == purpose_id


class OverrideGround(StrEnum):
    """Art. 21(1): why processing continues despite an objection."""

    COMPELLING_GROUNDS = "compelling_grounds"  # compelling legitimate grounds that override
    LEGAL_CLAIMS = "legal_claims"  # establishment, exercise or defence of legal claims


@dataclass(frozen=True)
class Override:
    """A recorded decision that an objection does not stop one purpose (never for marketing)."""

    id: str
    subject_id: str
    purpose: str
    ground: OverrideGround
    justification: str  # the recorded compelling grounds or the legal claim: required, non-empty
    decided_by: str
    decided_at: datetime
    ended_at: datetime | None = None

    def active(self, at: datetime) -> bool:
        return covers(self.decided_at, self.ended_at, at)


class RestrictionCase(StrEnum):
    """Art. 18(1): the four cases in which a person may obtain restriction."""

    ACCURACY_CONTESTED = "accuracy_contested"  # (a) while the controller verifies accuracy
    UNLAWFUL_PROCESSING = "unlawful_processing"  # (b) unlawful, person opposes erasure
    NEEDED_FOR_LEGAL_CLAIMS = (
        "needed_for_legal_claims"  # (c) controller no longer needs; person does
    )
    OBJECTION_PENDING = "objection_pending"  # (d) pending verification of an Art. 21(1) objection

    @property
    def article(self) -> str:
        letter = {
            RestrictionCase.ACCURACY_CONTESTED: "a",
            RestrictionCase.UNLAWFUL_PROCESSING: "b",
            RestrictionCase.NEEDED_FOR_LEGAL_CLAIMS: "c",
            RestrictionCase.OBJECTION_PENDING: "d",
        }[self]
        return f"Art. 18(1)({letter}) GDPR"


@dataclass(frozen=True)
class Restriction:
    """R4: restriction of processing; ``categories`` empty means all of the subject's data.

    Lifting is recorded with the notice given to the person (Art. 18(3)).
    """

    id: str
    subject_id: str
    case: RestrictionCase
    started_at: datetime
    recorded_by: str
    categories: tuple[str, ...] = ()
    lifted_at: datetime | None = None
    lifted_by: str | None = None
    lift_notice: str | None = None  # how and when the person was told before the lift

    def active(self, at: datetime) -> bool:
        return covers(self.started_at, self.lifted_at, at)

    def restricts(self, category: str) -> bool:
        return not self.categories or category in self.categories


@dataclass(frozen=True)
class ContractCover:
    """An (active or ended) contract of a subject, for a vehicle or for the person alone."""

    contract_id: str
    subject_id: str
    start: datetime
    end: datetime | None = None
    vehicle_id: str | None = None  # None: a contract of the person, not of one vehicle

    def covers(self, subject_id: str, vehicle_id: str | None, at: datetime) -> bool:
        if self.subject_id != subject_id or not covers(self.start, self.end, at):
            return False
        return vehicle_id is None or self.vehicle_id is None or self.vehicle_id == vehicle_id


@dataclass(frozen=True)
class UsagePeriod:
    """Who owned or used a vehicle when (owner changes, fleet membership)."""

    vehicle_id: str
    subject_id: str
    start: datetime
    end: datetime | None = None
    driver: bool = False  # an assigned driver wins over the owner (as in vehicle_usage)

    def active(self, at: datetime) -> bool:
        return covers(self.start, self.end, at)


@dataclass(frozen=True)
class FleetPeriod:
    """A period [start, end) in which a vehicle belongs to a fleet (SPEC B2)."""

    vehicle_id: str
    fleet_id: str
    start: datetime
    end: datetime | None = None

    def active(self, at: datetime) -> bool:
        return covers(self.start, self.end, at)


@dataclass(frozen=True)
class SubjectFacts:
    """Everything about one subject (and vehicle) that the decision engine reads.

    ``subject_id`` is the subject the data is about. For a vehicle-only request the service resolves
    it from the usage periods at the time of the data; None means nobody is linked (then consent and
    contract bases cannot be met). ``country`` is the subject's country of residence, if known.
    """

    subject_id: str | None = None
    vehicle_id: str | None = None
    country: str | None = None
    consents: tuple[ConsentRecord, ...] = ()
    objections: tuple[Objection, ...] = ()
    overrides: tuple[Override, ...] = ()
    restrictions: tuple[Restriction, ...] = ()
    contracts: tuple[ContractCover, ...] = ()
    usage: tuple[UsagePeriod, ...] = ()
    fleets: tuple[FleetPeriod, ...] = ()  # fleet memberships of the vehicle
    known: bool = True  # False: the request names a subject id that master data does not know

    def in_fleet(self, vehicle_id: str, fleet_id: str, at: datetime) -> bool:
        """Whether ``vehicle_id`` belongs to fleet ``fleet_id`` at ``at``."""
        return any(
            f.vehicle_id == vehicle_id and f.fleet_id == fleet_id and f.active(at)
            for f in self.fleets
        )

    def user_at(self, vehicle_id: str, at: datetime) -> str | None:
        """The subject whose data ``vehicle_id`` produces at ``at``: the same rule as ingestion's
        attribution (``vehicle_usage.subject_for``): a driver wins over the owner, and among
        periods of one kind the latest started."""
        best: UsagePeriod | None = None
        for period in self.usage:
            if (
                period.vehicle_id == vehicle_id
                and period.active(at)
                and (best is None or (period.driver, period.start) >= (best.driver, best.start))
            ):
                best = period
        return best.subject_id if best else None


EMPTY_FACTS = SubjectFacts()
