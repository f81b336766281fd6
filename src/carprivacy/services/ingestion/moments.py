"""Per-batch helpers of ingestion (SPEC I2, I3): the compiled catalogue entry
of a signal, and what a record's vehicle and time decide (attribution, expiry, associated data),
computed once per (vehicle, time) of a batch. Kept apart from ``ingest`` so that the per-record
loop there stays readable; nothing here does I/O.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import NamedTuple

from carprivacy.domain.collection_gate import CollectionGate
from carprivacy.domain.master import VIN_PATTERN
from carprivacy.domain.signals import NOT_A_VIN, ValueEncoder
from carprivacy.domain.telemetry import aad_parts
from carprivacy.domain.vehicle_usage import subject_for
from carprivacy.services.ingestion.quarantine import VehicleInfo

UNKNOWN = ("known_vehicle", "no vehicle has this VIN")
UNLINKED = ("linked_vehicle", "the vehicle has no owner, driver or fleet then")


class Entry(NamedTuple):
    """A catalogue signal compiled for the per-record path."""

    name: str
    category: str
    unit: str | None
    sensitive: bool
    purposes: tuple[str, ...]
    encode: ValueEncoder
    gate: CollectionGate | None = None  # consents decide whether it is collected at all


class Sealing(NamedTuple):
    """A sensitive value waiting for its owner's key (keys are loaded once per batch)."""

    position: int  # in ``rows``
    record: int  # index in the batch
    entry: Entry
    text: str
    moment: Moment


class Moment(NamedTuple):
    """What a record's vehicle and time decide, computed once per (vehicle, time) in a batch:
    the attribution, the expiry per category and the associated data around the signal name."""

    ts: datetime
    fault: tuple[str, str] | None  # (rule, message) when no record of this moment is stored
    vehicle_id: str
    subject_id: str | None
    fleet_id: str | None
    owner: str
    end_of_life: date | None
    expiries: dict[str, datetime | None]
    aad_head: str
    aad_tail: str
    sealing: list[Sealing]  # this batch's sensitive values of ``owner``


def moments_for(
    vehicles: Mapping[str, VehicleInfo], source: str
) -> tuple[Callable[[str, datetime], Moment], dict[str, list[Sealing]]]:
    """The batch's function (VIN, UTC time) -> :class:`Moment`. The attribution only changes
    at usage-period boundaries: computed once per vehicle and interval."""
    boundaries: dict[str, list[datetime]] = {}
    who_by_interval: dict[tuple[str, int], tuple[str | None, str | None, str] | None] = {}
    sealing: dict[str, list[Sealing]] = {}  # one list per owner: shared by its moments
    # expiry per category, shared by the moments of one time and vehicle end of life
    expiries: dict[tuple[date | None, datetime], dict[str, datetime | None]] = {}

    def moment_at(vin: str, ts: datetime) -> Moment:
        vehicle = vehicles.get(vin)
        if vehicle is None:
            fault = UNKNOWN if VIN_PATTERN.fullmatch(vin) else NOT_A_VIN
            return Moment(ts, fault, "", None, None, "", None, {}, "", "", [])
        edges = boundaries.get(vin)
        if edges is None:
            edges = boundaries[vin] = sorted(
                {t for u in vehicle.usages for t in (u.start, u.end) if t is not None}
            )
        interval = (vin, bisect_right(edges, ts))
        if interval in who_by_interval:
            who = who_by_interval[interval]
        else:
            at = subject_for(vehicle.id, vehicle.usages, ts)
            who = who_by_interval[interval] = (
                None if at.basis is None else (at.customer_id, at.fleet_id, at.owner)
            )
        if who is None:
            return Moment(ts, UNLINKED, vehicle.id, None, None, "", None, {}, "", "", [])
        subject_id, fleet_id, owner = who
        head, tail = aad_parts(vehicle.id, ts, source)
        pending = sealing.setdefault(owner, [])
        eol = vehicle.end_of_life
        shared = expiries.get((eol, ts))
        if shared is None:
            shared = expiries[(eol, ts)] = {}
        return Moment(
            ts,
            None,
            vehicle.id,
            subject_id,
            fleet_id,
            owner,
            eol,
            shared,
            head,
            tail,
            pending,
        )

    return moment_at, sealing


def sensitive_texts(sealing: Mapping[str, list[Sealing]], kept: list[int] | None) -> dict[int, str]:
    """Position in the stored rows -> plaintext of each sensitive row (the conflict check's
    input; built only when a stored key was met again)."""
    by_row = {p.position: p.text for pending in sealing.values() for p in pending}
    if kept is None:
        return by_row
    return {i: by_row[p] for i, p in enumerate(kept) if p in by_row}
