"""In-memory :class:`~carprivacy.services.access.ports.DecisionFacts`: the same snapshot as the SQL
reader, cut from the in-memory subject state and master data (checked against it by
tests/integration/test_decision_facts_fidelity.py)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from carprivacy.domain.decision_facts import FactsSnapshot, SubjectRecord, users_of
from carprivacy.domain.shares import as_consent
from carprivacy.domain.subject_state import (
    ConsentRecord,
    ContractCover,
    FleetPeriod,
    UsagePeriod,
)
from carprivacy.domain.vehicle_usage import UsageKind
from carprivacy.services.consent.ports import SubjectStateRepository
from carprivacy.testing.master import InMemoryMasterData
from carprivacy.testing.shares import InMemoryShareRepository
from carprivacy.testing.subject_state import InMemoryMasterFacts


@dataclass
class InMemoryDecisionFacts:
    """Decision facts from an in-memory subject state and master facts: given as lists, or read
    live from an in-memory master-data store at every snapshot."""

    state: SubjectStateRepository
    master: InMemoryMasterFacts | InMemoryMasterData
    shares: InMemoryShareRepository | None = None  # CarData shares, read as consents

    def snapshot(
        self, subject_ids: Collection[str], vehicle_ids: Collection[str], *, countries: bool = True
    ) -> FactsSnapshot:
        master = self.master
        if isinstance(master, InMemoryMasterData):
            master = master_facts_of(master)
        usage = {v: tuple(master.usage_of(v)) for v in vehicle_ids}
        fleets = {v: tuple(master.fleets_of(v)) for v in vehicle_ids}
        subjects = {
            s: SubjectRecord(
                country=master.country_of(s) if countries else None,
                consents=(*self.state.consents(s), *self._shared(s)),
                objections=tuple(self.state.objections(s)),
                overrides=tuple(self.state.overrides(s)),
                restrictions=tuple(self.state.restrictions(s)),
                contracts=tuple(master.contracts_of(s)),
            )
            for s in set(subject_ids) | users_of(usage)
            if master.is_known(s)
        }
        return FactsSnapshot(subjects, usage, fleets)

    def _shared(self, subject_id: str) -> list[ConsentRecord]:
        if self.shares is None:
            return []
        return [as_consent(x) for x in self.shares.shares(subject_id=subject_id)]


def master_facts_of(store: InMemoryMasterData) -> InMemoryMasterFacts:
    """The master facts an in-memory master-data store holds (contracts, usages, countries)."""
    customers = store.customers.values()
    usages = sorted(store.usages.values(), key=lambda u: (u.start, u.id))
    return InMemoryMasterFacts(
        contracts=[
            ContractCover(c.id, c.customer_id, c.start, c.end, vehicle_id=c.vehicle_id)
            for c in sorted(store.contracts.values(), key=lambda c: (c.start, c.id))
        ],
        usage=[
            UsagePeriod(
                u.vehicle_id, u.customer_id, u.start, u.end, driver=u.kind is UsageKind.DRIVER
            )
            for u in usages
            if u.customer_id is not None
        ],
        countries={c.id: c.contact.country for c in customers if c.contact and c.contact.country},
        fleets=[
            FleetPeriod(u.vehicle_id, u.fleet_id, u.start, u.end)
            for u in usages
            if u.kind is UsageKind.FLEET and u.fleet_id is not None
        ],
        subjects={c.id for c in customers},
    )
