"""Stored telemetry (SPEC I2): what one accepted vehicle signal value carries, and
what a refused record or message leaves in quarantine.

Every stored value names its vehicle, the data subject at that moment (a customer, or none when no
person is linked: then the vehicle's own key encrypts it), the fleet if any, signal, unit, time of
measurement and of receipt, source, policy category, the purposes it was collected for and its
expiry. Values of sensitive categories carry only ciphertext (``value`` is None); ``aad_for``
binds that ciphertext to its place so that it does not decrypt anywhere else.

Standard library only.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple

from carprivacy.domain.errors import Problem
from carprivacy.domain.policy import LegalBasis, Policy


class Source(StrEnum):
    HTTP = "http"
    MQTT = "mqtt"
    WORKSHOP = "workshop"


QUARANTINE_OWNER_UNKNOWN = "quarantine:unidentified"  # key owner of quarantine without a vehicle
PAYLOAD_WITHHELD = b""  # a quarantine row of an erased subject keeps only its reasons


class TelemetryRow(NamedTuple):
    """Immutable; a named tuple because ingestion builds one per record (cheaper than a frozen
    dataclass) and its fields are in the order of the table's columns."""

    vehicle_id: str
    subject_id: str | None
    fleet_id: str | None
    key_owner: str
    signal: str
    category: str
    unit: str | None
    value: str | None  # JSON text of the value, for normal categories
    value_ciphertext: bytes | None  # AES-GCM of the JSON text, for sensitive categories
    ts: datetime
    received_at: datetime
    source: str
    purposes: tuple[str, ...]
    expires_at: datetime | None


class StoredReading(NamedTuple):
    """A stored value as a read back through the gate sees it: its row id (the cursor's tie
    break), whom it was attributed to at its own time (subject, fleet), and the value, sealed
    when its category is sensitive."""

    id: int
    vehicle_id: str
    subject_id: str | None
    fleet_id: str | None
    key_owner: str
    signal: str
    category: str
    unit: str | None
    value: str | None
    value_ciphertext: bytes | None
    ts: datetime
    source: str
    expires_at: datetime | None


@dataclass(frozen=True)
class TelemetryWindow:
    """Which stored values a read asks for: one vehicle's or one subject's, in the half-open
    period [start, end), of some signals (none: every signal of ``categories``), not yet past
    their retention at ``live_at``, after the position ``after`` (ts, id) in (ts, id) order
    (``newest_first``: in descending order, ``after`` then being the position before which to
    read). Naming both the vehicle and the subject reads the subject's values of that vehicle."""

    vehicle_id: str | None = None
    subject_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    signals: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    live_at: datetime | None = None
    newest_first: bool = False


@dataclass(frozen=True)
class QuarantineRow:
    """A refused record (``record_index`` set) or a whole unparseable message (``None``).

    The payload is kept encrypted (it may hold a position or a voice command) under the key of
    the data subject the record belongs to (the vehicle's user at the record's time, or at receipt
    when the time is unreadable), so that erasing the subject shreds it too; under the vehicle's
    key when no person is linked, else under ``QUARANTINE_OWNER_UNKNOWN``. The associated data
    is :func:`quarantine_aad`: the payload does not decrypt beside other reasons, another vehicle
    or another time. An empty payload (``PAYLOAD_WITHHELD``) means nothing was kept: the
    subject's key was destroyed (erasure), so only the reasons are stored.
    """

    source: str
    vehicle_id: str | None
    record_index: int | None
    reasons: tuple[Problem, ...]
    key_owner: str
    payload_ciphertext: bytes
    received_at: datetime
    expires_at: datetime


def aad_for(vehicle_id: str, signal: str, ts: datetime, source: str) -> bytes:
    """Associated data of a telemetry ciphertext: its natural key (unique per stored row)."""
    head, tail = aad_parts(vehicle_id, ts, source)
    return (head + signal + tail).encode()


def aad_parts(vehicle_id: str, ts: datetime, source: str) -> tuple[str, str]:
    """``aad_for`` around the signal name: ingestion computes the parts once per vehicle and
    moment and joins them per record (``(head + signal + tail).encode()``)."""
    return f"telemetry|{vehicle_id}|", f"|{ts.isoformat()}|{source}"


def quarantine_aad(
    source: str,
    vehicle_id: str | None,
    record_index: int | None,
    received_at: datetime,
    key_owner: str,
    reasons: tuple[Problem, ...],
) -> bytes:
    """Associated data of a quarantined payload: every column of its row but the id and expiry."""
    return (
        f"telemetry_quarantine|{source}|{vehicle_id}|{record_index}|{received_at.isoformat()}|"
        f"{key_owner}|{reasons_json(reasons)}"
    ).encode()


class StoredValue(NamedTuple):
    """The value stored under a natural key, as ingestion compares it with a redelivered record."""

    value: str | None
    value_ciphertext: bytes | None
    key_owner: str


def encode_value(value: bool | int | float | str) -> str:
    """JSON text of a scalar (fast paths give exactly what ``json.dumps`` gives)."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if type(value) is int:
        return str(value)
    if type(value) is float and math.isfinite(value):
        return repr(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def decode_value(text: str) -> Any:
    return json.loads(text)


def reasons_json(reasons: tuple[Problem, ...]) -> str:
    return json.dumps(
        [{"field": p.path, "rule": p.rule, "message": p.message} for p in reasons],
        separators=(",", ":"),
    )


def reasons_from_json(text: str) -> tuple[Problem, ...]:
    return tuple(Problem(d["field"], d["rule"], d["message"]) for d in json.loads(text))


# Bases under which data is collected without asking first. Consent purposes are not tagged at
# collection: whether a consent covers a use is decided when the data is used (SPEC U2).
COLLECTION_BASES = frozenset(
    {LegalBasis.CONTRACT, LegalBasis.LEGAL_OBLIGATION, LegalBasis.LEGITIMATE_INTEREST}
)


def collection_purposes(policy: Policy, category: str) -> tuple[str, ...]:
    """The purposes a value of ``category`` is collected for: those using the category on a basis
    that does not need a prior consent, in policy order."""
    return tuple(p.id for p in policy.purposes_using(category) if p.legal_basis in COLLECTION_BASES)
