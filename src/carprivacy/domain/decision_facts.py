"""Every fact the decision engine needs about a set of subjects and vehicles, read at once (U1, U2).

A :class:`FactsSnapshot` is what one read of the decision facts returns: per subject whether it is
known, its country of residence, consents, objections, overrides, restrictions and contracts; per
vehicle its usage periods (owners and drivers) and fleet periods. :meth:`FactsSnapshot.facts_for`
cuts the :class:`~carprivacy.domain.subject_state.SubjectFacts` of one request out of it, so a list
of 100 rows is decided on one read instead of one query per fact and row.

The subjects a snapshot must hold are the named ones plus every customer who ever used one of the
named vehicles (:func:`users_of`): whose data a vehicle's record is depends on the record's time.

Standard library only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from carprivacy.domain.subject_state import (
    ConsentRecord,
    ContractCover,
    FleetPeriod,
    Objection,
    Override,
    Restriction,
    SubjectFacts,
    UsagePeriod,
)


@dataclass(frozen=True)
class SubjectRecord:
    """What is held about one data subject for decisions."""

    country: str | None = None
    consents: tuple[ConsentRecord, ...] = ()
    objections: tuple[Objection, ...] = ()
    overrides: tuple[Override, ...] = ()
    restrictions: tuple[Restriction, ...] = ()
    contracts: tuple[ContractCover, ...] = ()


@dataclass(frozen=True)
class FactsSnapshot:
    """The decision facts of some subjects and vehicles, as of one read."""

    subjects: Mapping[str, SubjectRecord] = field(default_factory=dict)  # known subjects only
    usage: Mapping[str, tuple[UsagePeriod, ...]] = field(default_factory=dict)  # per vehicle
    fleets: Mapping[str, tuple[FleetPeriod, ...]] = field(default_factory=dict)  # per vehicle

    def facts_for(
        self,
        subject_id: str | None,
        vehicle_id: str | None,
        at: datetime,
        *,
        with_fleets: bool = False,
    ) -> SubjectFacts:
        """The facts of one request: about ``subject_id``, else the user of ``vehicle_id`` at
        ``at``. ``with_fleets``: include the vehicle's fleet periods (fleet-manager callers)."""
        usage: tuple[UsagePeriod, ...] = ()
        fleets: tuple[FleetPeriod, ...] = ()
        if vehicle_id is not None:
            usage = self.usage.get(vehicle_id, ())
            if with_fleets:
                fleets = self.fleets.get(vehicle_id, ())
        subject = subject_id
        if subject is None and vehicle_id is not None:
            subject = SubjectFacts(usage=usage).user_at(vehicle_id, at)
        if subject is None:
            return SubjectFacts(vehicle_id=vehicle_id, usage=usage, fleets=fleets)
        held = self.subjects.get(subject)
        if held is None:
            if subject_id is not None:
                return SubjectFacts(subject_id=subject, vehicle_id=vehicle_id, known=False)
            held = SubjectRecord()  # a usage period naming a customer no longer held
        return SubjectFacts(
            subject_id=subject,
            vehicle_id=vehicle_id,
            country=held.country,
            consents=held.consents,
            objections=held.objections,
            overrides=held.overrides,
            restrictions=held.restrictions,
            contracts=held.contracts,
            usage=usage,
            fleets=fleets,
        )


def users_of(usage: Mapping[str, Iterable[UsagePeriod]]) -> set[str]:
    """Every subject of the usage periods: whose facts a vehicle's records may need."""
    return {p.subject_id for periods in usage.values() for p in periods}
