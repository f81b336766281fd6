"""Who uses a vehicle when (SPEC I4): owner, fleet and driver periods, owner changes, and whose
data a vehicle produces at a moment (:func:`subject_for`). Pure; times are aware UTC, passed in."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from carprivacy.domain.errors import Problem


class UsageKind(StrEnum):
    OWNER = "owner"
    FLEET = "fleet"
    DRIVER = "driver"


@dataclass(frozen=True)
class VehicleUsage:
    """A period [start, end) in which a customer owns or drives a vehicle, or a fleet holds it."""

    id: str
    vehicle_id: str
    kind: UsageKind
    customer_id: str | None
    fleet_id: str | None
    start: datetime
    end: datetime | None
    created_at: datetime

    def covers(self, at: datetime) -> bool:
        return self.start <= at and (self.end is None or at < self.end)

    def overlaps(self, start: datetime, end: datetime | None) -> bool:
        ends_after_start = self.end is None or start < self.end
        starts_before_end = end is None or self.start < end
        return ends_after_start and starts_before_end


@dataclass(frozen=True)
class Attribution:
    """Whose data a vehicle produces at a moment: a person, a fleet, or nobody known."""

    vehicle_id: str
    customer_id: str | None
    fleet_id: str | None
    basis: UsageKind | None

    @property
    def owner(self) -> str:
        """The key owner for data of this moment: the person, else the vehicle itself."""
        if self.customer_id is not None:
            return subject_owner(self.customer_id)
        return vehicle_owner(self.vehicle_id)


def subject_owner(customer_id: str) -> str:
    return f"subject:{customer_id}"


def vehicle_owner(vehicle_id: str) -> str:
    return f"vehicle:{vehicle_id}"


def subject_for(vehicle_id: str, usages: Iterable[VehicleUsage], at: datetime) -> Attribution:
    """The data subject of a vehicle at ``at``.

    A driver period (a person assigned to a fleet or family car) wins over the owner, the owner wins
    over the fleet; a fleet vehicle without an assigned driver produces vehicle-linked data of the
    fleet (no person). Periods are half-open: at an owner change the new owner gets the data from
    the change on.
    """
    covering = [u for u in usages if u.vehicle_id == vehicle_id and u.covers(at)]
    for kind in (UsageKind.DRIVER, UsageKind.OWNER):
        people = sorted((u for u in covering if u.kind is kind), key=lambda u: u.start)
        if people:
            latest = people[-1]
            fleet = next((u.fleet_id for u in covering if u.kind is UsageKind.FLEET), None)
            return Attribution(vehicle_id, latest.customer_id, fleet, kind)
    fleets = sorted((u for u in covering if u.kind is UsageKind.FLEET), key=lambda u: u.start)
    if fleets:
        return Attribution(vehicle_id, None, fleets[-1].fleet_id, UsageKind.FLEET)
    return Attribution(vehicle_id, None, None, None)


# --- validation -------------------------------------------------------------------------------


# --- validation and changes ---------------------------------------------------------------


def _is_aware(value: object) -> bool:
    return isinstance(value, datetime) and value.utcoffset() == timedelta(0)


def aware_problem(problems: list[Problem], path: str, value: object) -> None:
    if not _is_aware(value):
        problems.append(Problem(path, "utc_datetime", "must be a timezone-aware UTC datetime"))


def validate_period(start: object, end: object) -> list[Problem]:
    problems: list[Problem] = []
    aware_problem(problems, "start", start)
    if end is not None:
        aware_problem(problems, "end", end)
    if (
        not problems
        and isinstance(start, datetime)
        and isinstance(end, datetime)
        and not start < end
    ):
        problems.append(Problem("end", "after_start", "must be after start"))
    return problems


def validate_usage(usage: VehicleUsage) -> list[Problem]:
    problems = validate_period(usage.start, usage.end)
    if usage.kind is UsageKind.FLEET:
        if usage.fleet_id is None:
            problems.append(Problem("fleet_id", "required", "a fleet period names its fleet"))
        if usage.customer_id is not None:
            problems.append(Problem("customer_id", "forbidden", "a fleet period names no person"))
    else:
        if usage.customer_id is None:
            problems.append(
                Problem("customer_id", "required", f"an {usage.kind} period names its customer")
            )
        if usage.kind is UsageKind.OWNER and usage.fleet_id is not None:
            problems.append(Problem("fleet_id", "forbidden", "an owner period names no fleet"))
    return problems


def usage_conflicts(new: VehicleUsage, existing: Iterable[VehicleUsage]) -> list[VehicleUsage]:
    """Periods of the same kind on the same vehicle that overlap ``new``.

    A vehicle has one owner and one fleet at a time; a driver period may overlap other drivers' only
    if they are different people (shared cars), never the same person twice.
    """
    clashes = []
    for u in existing:
        if u.vehicle_id != new.vehicle_id or u.kind is not new.kind or u.id == new.id:
            continue
        if new.kind is UsageKind.DRIVER and u.customer_id != new.customer_id:
            continue
        if u.overlaps(new.start, new.end):
            clashes.append(u)
    return clashes


def change_usage(
    new: VehicleUsage, existing: Sequence[VehicleUsage]
) -> tuple[list[VehicleUsage], list[Problem]]:
    """Plan adding ``new``: an owner change or a move to another fleet closes the open period of
    the same kind at ``new.start``; any other overlap is a conflict.

    Returns the periods to update (closed) and the problems (empty when the change is allowed).
    """
    closed: list[VehicleUsage] = []
    remaining: list[VehicleUsage] = []
    for u in existing:
        exclusive = new.kind in (UsageKind.OWNER, UsageKind.FLEET)
        if (
            exclusive
            and u.vehicle_id == new.vehicle_id
            and u.kind is new.kind
            and u.end is None
            and u.start < new.start
        ):
            closed.append(replace(u, end=new.start))
        else:
            remaining.append(u)
    clashes = usage_conflicts(new, [*remaining, *closed])
    if clashes:
        return [], [
            Problem(
                "start",
                "no_overlap",
                f"overlaps {len(clashes)} existing {new.kind} period(s) of this vehicle",
            )
        ]
    return closed, []
