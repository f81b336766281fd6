"""In-memory fakes of the subject state and master facts ports (services/consent/subject_state.py,
services/access/decisions.py)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from carprivacy.domain.consent_ledger import LedgerEntry, LedgerState, ordered, replay
from carprivacy.domain.subject_state import (
    ConsentRecord,
    ContractCover,
    FleetPeriod,
    Objection,
    Override,
    Restriction,
    UsagePeriod,
)


def _put(rows: list[object], record: object, add: bool) -> None:
    ident = record.id  # type: ignore[attr-defined]
    for i, r in enumerate(rows):
        if r.id == ident:  # type: ignore[attr-defined]
            if add:
                raise KeyError(f"duplicate id {ident}")
            rows[i] = record
            return
    if not add:
        raise KeyError(f"unknown id {ident}")
    rows.append(record)


@dataclass
class InMemorySubjectStateRepository:
    consent_rows: list[ConsentRecord] = field(default_factory=list)
    objection_rows: list[Objection] = field(default_factory=list)
    override_rows: list[Override] = field(default_factory=list)
    restriction_rows: list[Restriction] = field(default_factory=list)
    ledger_rows: list[LedgerEntry] = field(default_factory=list)  # append-only

    def append(self, entry: LedgerEntry) -> None:
        if any(e.id == entry.id for e in self.ledger_rows):
            raise KeyError(f"duplicate id {entry.id}")
        self.ledger_rows.append(entry)

    def entries(self, subject_id: str) -> list[LedgerEntry]:
        return ordered(e for e in self.ledger_rows if e.subject_id == subject_id)

    def _derived(self, subject_id: str) -> LedgerState:
        return replay(self.entries(subject_id))

    def add_consent(self, record: ConsentRecord) -> None:
        _put(self.consent_rows, record, add=True)  # type: ignore[arg-type]

    def update_consent(self, record: ConsentRecord) -> None:
        _put(self.consent_rows, record, add=False)  # type: ignore[arg-type]

    def consents(self, subject_id: str) -> list[ConsentRecord]:
        rows = [r for r in self.consent_rows if r.subject_id == subject_id]
        rows += self._derived(subject_id).consents
        return sorted(rows, key=lambda r: (r.given_at, r.id))

    def consents_of(self, subject_ids: Collection[str]) -> dict[str, list[ConsentRecord]]:
        return {s: self.consents(s) for s in set(subject_ids)}

    def add_objection(self, objection: Objection) -> None:
        _put(self.objection_rows, objection, add=True)  # type: ignore[arg-type]

    def update_objection(self, objection: Objection) -> None:
        _put(self.objection_rows, objection, add=False)  # type: ignore[arg-type]

    def objections(self, subject_id: str) -> list[Objection]:
        rows = [r for r in self.objection_rows if r.subject_id == subject_id]
        rows += self._derived(subject_id).objections
        return sorted(rows, key=lambda r: (r.made_at, r.id))

    def add_override(self, override: Override) -> None:
        _put(self.override_rows, override, add=True)  # type: ignore[arg-type]

    def update_override(self, override: Override) -> None:
        _put(self.override_rows, override, add=False)  # type: ignore[arg-type]

    def overrides(self, subject_id: str) -> list[Override]:
        rows = [r for r in self.override_rows if r.subject_id == subject_id]
        rows += self._derived(subject_id).overrides
        return sorted(rows, key=lambda r: (r.decided_at, r.id))

    def add_restriction(self, restriction: Restriction) -> None:
        _put(self.restriction_rows, restriction, add=True)  # type: ignore[arg-type]

    def update_restriction(self, restriction: Restriction) -> None:
        _put(self.restriction_rows, restriction, add=False)  # type: ignore[arg-type]

    def restrictions(self, subject_id: str) -> list[Restriction]:
        rows = [r for r in self.restriction_rows if r.subject_id == subject_id]
        rows += self._derived(subject_id).restrictions
        return sorted(rows, key=lambda r: (r.started_at, r.id))


@dataclass
class InMemoryMasterFacts:
    """Contracts, vehicle usage periods and countries of residence, held in lists."""

    contracts: list[ContractCover] = field(default_factory=list)
    usage: list[UsagePeriod] = field(default_factory=list)
    countries: dict[str, str] = field(default_factory=dict)
    fleets: list[FleetPeriod] = field(default_factory=list)
    subjects: set[str] | None = None  # the known subject ids; None: every id is known

    def contracts_of(self, subject_id: str) -> list[ContractCover]:
        return [c for c in self.contracts if c.subject_id == subject_id]

    def usage_of(self, vehicle_id: str) -> list[UsagePeriod]:
        return [u for u in self.usage if u.vehicle_id == vehicle_id]

    def country_of(self, subject_id: str) -> str | None:
        return self.countries.get(subject_id)

    def fleets_of(self, vehicle_id: str) -> list[FleetPeriod]:
        return [f for f in self.fleets if f.vehicle_id == vehicle_id]

    def is_known(self, subject_id: str) -> bool:
        return self.subjects is None or subject_id in self.subjects


@dataclass
class InMemoryNoticeAddress:
    """E-mail addresses for notices to persons, held in a dict (the NoticeAddress port)."""

    addresses: dict[str, str] = field(default_factory=dict)

    def __call__(self, subject_id: str) -> str | None:
        return self.addresses.get(subject_id)
