"""In-memory fakes of the erasure ports: a store of portions (each with sealed values of its
own, so that resealing and shredding can be observed), and a shred list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from carprivacy.domain.erasure import ErasureState, Portion, Verdict
from carprivacy.domain.errors import ConflictError
from carprivacy.domain.master import subject_owner
from carprivacy.services.erasure.ports import ErasureRecord, ShredEntry
from carprivacy.services.ports.crypto import KeyResealer


@dataclass
class InMemoryErasureStore:
    """``subjects[subject]``: the subject's records as portions; ``sealed[(subject, table)]``: the
    ciphertexts of a table's rows (associated data ``<table>/<i>``), under the subject's key."""

    subjects: dict[str, list[Portion]] = field(default_factory=dict)
    sealed: dict[tuple[str, str], list[bytes]] = field(default_factory=dict)
    records: list[ErasureRecord] = field(default_factory=list)
    purged: list[Portion] = field(default_factory=list)

    def subject_exists(self, subject_id: str) -> bool:
        return subject_id in self.subjects

    def settle(self) -> None:
        return None

    def subject_ids(self) -> list[str]:
        return sorted({*self.subjects, *(r.subject_id for r in self.records)})

    def portions(self, subject_id: str, subject_ref: str, account_owner: str) -> list[Portion]:
        return list(self.subjects.get(subject_id, []))

    def reseal(
        self, subject_id: str, kept: Sequence[Verdict], successor: str, cipher: KeyResealer
    ) -> int:
        owner = subject_owner(subject_id)
        moved = 0
        for table in {v.portion.table for v in kept}:
            blobs = self.sealed.get((subject_id, table), [])
            for i, blob in enumerate(blobs):
                if cipher.sealed_under(owner, blob) != successor:
                    blobs[i] = cipher.reseal(owner, blob, f"{table}/{i}".encode(), successor)
                    moved += 1
        return moved

    def purge(self, subject_id: str, verdicts: Sequence[Verdict], batch: int) -> int:
        erased = [v.portion for v in verdicts if not v.kept]
        left = [p for p in self.subjects.get(subject_id, []) if p not in erased]
        self.subjects[subject_id] = left
        self.purged.extend(erased)
        for p in erased:
            if p.table not in {q.table for q in left}:
                self.sealed.pop((subject_id, p.table), None)
        return sum(p.count for p in erased)

    def add(self, record: ErasureRecord) -> None:
        if any(
            r.subject_id == record.subject_id and r.state is not ErasureState.COMPLETED
            for r in self.records
        ):
            raise ConflictError("an erasure of this subject is in progress")
        self.records.append(record)

    def advance(
        self, erasure_id: str, state: ErasureState, report: str, at: datetime | None = None
    ) -> None:
        self.records = [
            replace(r, state=state, report=report, finished_at=at or r.finished_at)
            if r.id == erasure_id
            else r
            for r in self.records
        ]

    def of_subject(self, subject_id: str) -> list[ErasureRecord]:
        return [r for r in self.records if r.subject_id == subject_id]


class InMemoryShredList:
    def __init__(self) -> None:
        self._entries: list[ShredEntry] = []

    def append(self, entry: ShredEntry) -> None:
        self._entries.append(entry)

    def entries(self) -> list[ShredEntry]:
        return list(self._entries)
