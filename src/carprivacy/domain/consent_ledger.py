"""The consent ledger: every choice a person made, as an append-only list of entries (SPEC C1, C4).

An entry is never changed or removed: giving a consent, withdrawing it, making an objection, an
officer's override, a restriction and its lift are each one :class:`LedgerEntry`. The current state
(the consent, objection, override and restriction intervals the decision engine reads) is derived
by :func:`replay`, a pure fold over the entries in order; a withdrawal closes every record of its
topic (and chosen party and vehicle) in force at its time, as Art. 7(3) requires.

Each entry carries its evidence: who recorded it (the person, or a staff member on their behalf),
through which channel, at which time, and for a consent the exact text shown (version id, language
and a SHA-256 hash of the rendered text).

Standard library only; no clock reads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from carprivacy.domain.subject_state import (
    ConsentChoice,
    ConsentRecord,
    Objection,
    Override,
    OverrideGround,
    Restriction,
    RestrictionCase,
)


class EntryKind(StrEnum):
    CONSENT_GIVEN = "consent_given"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    OBJECTION_MADE = "objection_made"
    OBJECTION_WITHDRAWN = "objection_withdrawn"
    OVERRIDE_RECORDED = "override_recorded"
    OVERRIDE_ENDED = "override_ended"
    RESTRICTION_STARTED = "restriction_started"
    RESTRICTION_LIFTED = "restriction_lifted"


class Actor(StrEnum):
    """Who made the entry: the person themselves or a staff member on their behalf."""

    SUBJECT = "subject"
    STAFF = "staff"


class Channel(StrEnum):
    """Where the choice came in."""

    PORTAL = "portal"
    APP = "app"
    VEHICLE = "vehicle"
    CALL_CENTRE = "call_centre"
    WORKSHOP = "workshop"


def text_hash(text: str) -> str:
    """The evidence hash of a rendered consent text: SHA-256 of its UTF-8 bytes, hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class LedgerEntry:
    """One append-only entry. ``record_id`` names the interval it opens or closes (a consent, an
    objection, an override or a restriction); ``note`` is free text (objection grounds, override
    justification, lift notice) that the store seals under the subject's key."""

    id: str
    subject_id: str
    kind: EntryKind
    at: datetime
    recorded_by: str
    actor: Actor
    channel: Channel
    record_id: str
    topic: str | None = None
    choice: ConsentChoice | None = None
    party: str | None = None  # the chosen third party of a per-party topic (CarData)
    vehicle_id: str | None = None
    text_version: str | None = None
    text_hash: str | None = None
    language: str | None = None
    purpose: str | None = None
    marketing: bool = False
    case: RestrictionCase | None = None
    categories: tuple[str, ...] = ()
    ground: OverrideGround | None = None
    note: str = ""


@dataclass(frozen=True)
class LedgerState:
    """The intervals the entries of one subject add up to, in the order they were opened."""

    consents: tuple[ConsentRecord, ...] = ()
    objections: tuple[Objection, ...] = ()
    overrides: tuple[Override, ...] = ()
    restrictions: tuple[Restriction, ...] = ()


def ordered(entries: Iterable[LedgerEntry]) -> list[LedgerEntry]:
    """Entries in ledger order: by time, then by id (a stable order for equal times)."""
    return sorted(entries, key=lambda e: (e.at, e.id))


def consent_matches(
    rec: ConsentRecord, topic: str, party: str | None, vehicle_id: str | None
) -> bool:
    """Whether a withdrawal of ``topic`` (``party``, ``vehicle_id``; None: any) closes ``rec``."""
    return (
        rec.topic == topic
        and (party is None or rec.party == party)
        and (vehicle_id is None or rec.vehicle_id == vehicle_id)
    )


def replay(entries: Iterable[LedgerEntry]) -> LedgerState:
    """The state the entries add up to (pure; the same entries always give the same state)."""
    consents: dict[str, ConsentRecord] = {}
    objections: dict[str, Objection] = {}
    overrides: dict[str, Override] = {}
    restrictions: dict[str, Restriction] = {}
    for e in ordered(entries):
        k = e.kind
        if k is EntryKind.CONSENT_GIVEN and e.topic is not None:
            consents[e.record_id] = ConsentRecord(
                id=e.record_id,
                subject_id=e.subject_id,
                topic=e.topic,
                choice=e.choice or ConsentChoice.GIVEN,
                text_version=e.text_version or "",
                channel=e.channel.value,
                given_at=e.at,
                recorded_by=e.recorded_by,
                vehicle_id=e.vehicle_id,
                party=e.party,
                text_hash=e.text_hash or "",
                language=e.language or "",
                actor=e.actor.value,
            )
        elif k is EntryKind.CONSENT_WITHDRAWN and e.topic is not None:
            for rid, rec in consents.items():
                if (
                    consent_matches(rec, e.topic, e.party, e.vehicle_id)
                    and rec.withdrawn_at is None
                    and rec.given_at <= e.at
                ):
                    consents[rid] = replace(
                        rec,
                        withdrawn_at=e.at,
                        withdrawn_by=e.recorded_by,
                        withdrawal_channel=e.channel.value,
                    )
        elif k is EntryKind.OBJECTION_MADE:
            objections[e.record_id] = Objection(
                id=e.record_id,
                subject_id=e.subject_id,
                made_at=e.at,
                recorded_by=e.recorded_by,
                purpose=e.purpose,
                marketing=e.marketing,
                grounds=e.note,
            )
        elif k is EntryKind.OBJECTION_WITHDRAWN:
            o = objections.get(e.record_id)
            if o is not None and o.withdrawn_at is None and o.made_at <= e.at:
                objections[e.record_id] = replace(o, withdrawn_at=e.at)
        elif k is EntryKind.OVERRIDE_RECORDED and e.purpose and e.ground is not None:
            overrides[e.record_id] = Override(
                id=e.record_id,
                subject_id=e.subject_id,
                purpose=e.purpose,
                ground=e.ground,
                justification=e.note,
                decided_by=e.recorded_by,
                decided_at=e.at,
            )
        elif k is EntryKind.OVERRIDE_ENDED:
            v = overrides.get(e.record_id)
            if v is not None and v.ended_at is None and v.decided_at <= e.at:
                overrides[e.record_id] = replace(v, ended_at=e.at)
        elif k is EntryKind.RESTRICTION_STARTED and e.case is not None:
            restrictions[e.record_id] = Restriction(
                id=e.record_id,
                subject_id=e.subject_id,
                case=e.case,
                started_at=e.at,
                recorded_by=e.recorded_by,
                categories=e.categories,
            )
        elif k is EntryKind.RESTRICTION_LIFTED:
            r = restrictions.get(e.record_id)
            if r is not None and r.lifted_at is None and r.started_at <= e.at:
                restrictions[e.record_id] = replace(
                    r, lifted_at=e.at, lifted_by=e.recorded_by, lift_notice=e.note
                )
    return LedgerState(
        tuple(consents.values()),
        tuple(objections.values()),
        tuple(overrides.values()),
        tuple(restrictions.values()),
    )


# -- the history export (C4 evidence) --------------------------------------------------------------

HISTORY_FIELDS: tuple[str, ...] = (
    "at",
    "kind",
    "record_id",
    "actor",
    "recorded_by",
    "channel",
    "topic",
    "choice",
    "party",
    "vehicle_id",
    "text_version",
    "language",
    "text_hash",
    "purpose",
    "marketing",
    "case",
    "categories",
    "ground",
    "note",
    "entry_id",
)


def history_record(e: LedgerEntry) -> dict[str, object]:
    """One entry with its types (the JSON evidence export): absent values are null, ``marketing``
    a boolean, ``categories`` a list; the same fields as :func:`history_row`."""
    return {
        "at": e.at.isoformat(),
        "kind": e.kind.value,
        "record_id": e.record_id or None,
        "actor": e.actor.value,
        "recorded_by": e.recorded_by,
        "channel": e.channel.value,
        "topic": e.topic,
        "choice": e.choice.value if e.choice else None,
        "party": e.party,
        "vehicle_id": e.vehicle_id,
        "text_version": e.text_version,
        "language": e.language,
        "text_hash": e.text_hash,
        "purpose": e.purpose,
        "marketing": e.marketing,
        "case": e.case.value if e.case else None,
        "categories": list(e.categories),
        "ground": e.ground.value if e.ground else None,
        "note": e.note or None,
        "entry_id": e.id,
    }


def history_row(e: LedgerEntry) -> dict[str, str]:
    """One entry as a flat row of text (the CSV evidence export): absent values are empty."""
    return {
        "at": e.at.isoformat(),
        "kind": e.kind.value,
        "record_id": e.record_id,
        "actor": e.actor.value,
        "recorded_by": e.recorded_by,
        "channel": e.channel.value,
        "topic": e.topic or "",
        "choice": e.choice.value if e.choice else "",
        "party": e.party or "",
        "vehicle_id": e.vehicle_id or "",
        "text_version": e.text_version or "",
        "language": e.language or "",
        "text_hash": e.text_hash or "",
        "purpose": e.purpose or "",
        "marketing": "true" if e.marketing else "false",
        "case": e.case.value if e.case else "",
        "categories": " ".join(e.categories),
        "ground": e.ground.value if e.ground else "",
        "note": e.note,
        "entry_id": e.id,
    }
