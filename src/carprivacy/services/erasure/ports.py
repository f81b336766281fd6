"""Ports of erasure (SPEC R3): the subject's records in the store, the erasure records, and the
shred list kept outside the database (and so outside its backups)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from carprivacy.domain.erasure import ErasureState, Portion, Verdict
from carprivacy.services.ports.crypto import KeyResealer


@dataclass(frozen=True)
class ErasureRecord:
    id: str
    subject_id: str
    controller: str
    state: ErasureState
    as_of: datetime
    successor: str
    requested_by: str
    reason: str
    started_at: datetime
    finished_at: datetime | None
    report: str  # ErasureReport JSON


class ErasureStore(Protocol):
    def subject_exists(self, subject_id: str) -> bool: ...

    def portions(self, subject_id: str, subject_ref: str, account_owner: str) -> list[Portion]:
        """Every record of the subject, as portions to judge (``subject_ref``: the audit's
        pseudonym of the subject)."""
        ...

    def reseal(
        self, subject_id: str, kept: Sequence[Verdict], successor: str, cipher: KeyResealer
    ) -> int:
        """Move every sealed value of the kept portions to ``successor``'s key, in batches of one
        transaction each; values already there are skipped. Returns the values moved."""
        ...

    def purge(self, subject_id: str, verdicts: Sequence[Verdict], batch: int) -> int:
        """Delete the erased portions' rows (batches of ``batch``, one transaction each; columns
        erased from a kept row are set to NULL). Returns the rows deleted."""
        ...

    def settle(self) -> None:
        """Let the store drop the copies of erased pages it can (SQLite: checkpoint the WAL)."""
        ...

    def subject_ids(self) -> list[str]:
        """Every customer id and every erased subject's id."""
        ...

    def add(self, record: ErasureRecord) -> None:
        """Raises ``ConflictError`` when the subject has an unfinished erasure already."""
        ...

    def advance(
        self, erasure_id: str, state: ErasureState, report: str, at: datetime | None = None
    ) -> None: ...

    def of_subject(self, subject_id: str) -> list[ErasureRecord]:
        """The subject's erasures, oldest first."""
        ...


@dataclass(frozen=True)
class ShredEntry:
    """One erasure's keys, as the shred list holds them: keyed pseudonyms, never the ids."""

    erasure_id: str
    at: str
    controller: str
    subject_ref: str
    owner_refs: tuple[str, ...]


class ShredList(Protocol):
    def append(self, entry: ShredEntry) -> None:
        """Durably (fsync) add the entry before the keys it names are destroyed."""
        ...

    def entries(self) -> list[ShredEntry]: ...
