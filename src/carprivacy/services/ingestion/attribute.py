"""Attribute (SPEC I2): which data subject a record belongs to at its own time.

A record's vehicle and time decide its subject (the owner, driver or fleet through the usage
periods, ``domain.vehicle_usage.subject_for``), the key owner that seals its sensitive values, and
the associated data around its signal name. All of that is a :class:`Moment`, computed once per
(vehicle, time) of a batch; the attribution itself only changes at usage-period boundaries, so it
is computed once per vehicle and interval. A vehicle that is unknown, or linked to no owner,
driver or fleet at that moment, is a fault: its records are refused. Nothing here does I/O.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, NamedTuple

from carprivacy.domain.errors import Problem
from carprivacy.domain.master import VIN_PATTERN
from carprivacy.domain.signals.validation import NOT_A_VIN, timestamp_until
from carprivacy.domain.telemetry import aad_parts
from carprivacy.domain.vehicle_usage import VehicleUsage, subject_for

if TYPE_CHECKING:
    from carprivacy.services.ingestion.seal import Sealing

UNKNOWN = ("known_vehicle", "no vehicle has this VIN")
UNLINKED = ("linked_vehicle", "the vehicle has no owner, driver or fleet then")


@dataclass(frozen=True)
class VehicleInfo:
    """What ingestion needs of a vehicle: its id, end of life and usage periods."""

    id: str
    vin: str
    end_of_life: date | None
    usages: tuple[VehicleUsage, ...]


class Moment(NamedTuple):
    """What a record's vehicle and time decide, computed once per (vehicle, time) in a batch:
    the attribution, the expiry per category (filled by the expiry stage) and the associated
    data around the signal name."""

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


def fault_problem(m: Moment, at: int) -> Problem:
    """The refusal of a record whose moment has a fault (``at``: the sender's numbering)."""
    assert m.fault is not None
    rule, message = m.fault
    return Problem(f"records[{at}].vin", rule, message)


class Attribution:
    """One batch's attribution: (VIN, time) -> :class:`Moment`, cached per (VIN, time as sent)
    and per (VIN, UTC time). ``sealing`` collects, per owner, the sensitive values waiting for
    that owner's key (one list per owner, shared by its moments)."""

    def __init__(self, vehicles: Mapping[str, VehicleInfo], source: str, latest: datetime) -> None:
        self._vehicles = vehicles
        self._source = source
        self._latest = latest
        self._boundaries: dict[str, list[datetime]] = {}
        self._who: dict[tuple[str, int], tuple[str | None, str | None, str] | None] = {}
        # expiry per category, shared by the moments of one time and vehicle end of life
        self._expiries: dict[tuple[date | None, datetime], dict[str, datetime | None]] = {}
        self._moments: dict[tuple[str, object], Moment | None] = {}
        self.sealing: dict[str, list[Sealing]] = {}

    def of_text(self, vin: str, raw_ts: str) -> Moment | None:
        """The moment of a record in its common form (time as sent); None when its time is not
        a readable one up to the latest accepted (the full check then names the problem)."""
        key = (vin, raw_ts)
        try:
            return self._moments[key]
        except KeyError:
            ts = timestamp_until(raw_ts, self._latest)
            m = self._moments[key] = None if ts is None else self._moment(vin, ts)
            return m

    def of_time(self, vin: str, ts: datetime) -> Moment:
        """The moment of a validated record (UTC time)."""
        key = (vin, ts)
        m = self._moments.get(key)
        if m is None:
            m = self._moments[key] = self._moment(vin, ts)
        return m

    def _moment(self, vin: str, ts: datetime) -> Moment:
        vehicle = self._vehicles.get(vin)
        if vehicle is None:
            fault = UNKNOWN if VIN_PATTERN.fullmatch(vin) else NOT_A_VIN
            return Moment(ts, fault, "", None, None, "", None, {}, "", "", [])
        edges = self._boundaries.get(vin)
        if edges is None:
            edges = self._boundaries[vin] = sorted(
                {t for u in vehicle.usages for t in (u.start, u.end) if t is not None}
            )
        interval = (vin, bisect_right(edges, ts))
        if interval in self._who:
            who = self._who[interval]
        else:
            at = subject_for(vehicle.id, vehicle.usages, ts)
            who = self._who[interval] = (
                None if at.basis is None else (at.customer_id, at.fleet_id, at.owner)
            )
        if who is None:
            return Moment(ts, UNLINKED, vehicle.id, None, None, "", None, {}, "", "", [])
        subject_id, fleet_id, owner = who
        head, tail = aad_parts(vehicle.id, ts, self._source)
        pending = self.sealing.setdefault(owner, [])
        eol = vehicle.end_of_life
        shared = self._expiries.get((eol, ts))
        if shared is None:
            shared = self._expiries[(eol, ts)] = {}
        return Moment(
            ts, None, vehicle.id, subject_id, fleet_id, owner, eol, shared, head, tail, pending
        )
