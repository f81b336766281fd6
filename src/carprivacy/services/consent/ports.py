"""The ports of the consent room (SPEC U2, C1, C3, C4, R4, R6): where subject state is kept."""

from __future__ import annotations

from typing import Protocol

from carprivacy.domain.consent_ledger import LedgerEntry
from carprivacy.domain.subject_state import ConsentRecord, Objection, Override, Restriction


class ConsentRepository(Protocol):
    def add_consent(self, record: ConsentRecord) -> None: ...

    def update_consent(self, record: ConsentRecord) -> None: ...

    def consents(self, subject_id: str) -> list[ConsentRecord]:
        """The subject's consent records, oldest first (the consent history, C4)."""
        ...


class ObjectionRepository(Protocol):
    def add_objection(self, objection: Objection) -> None: ...

    def update_objection(self, objection: Objection) -> None: ...

    def objections(self, subject_id: str) -> list[Objection]: ...


class OverrideRepository(Protocol):
    def add_override(self, override: Override) -> None: ...

    def update_override(self, override: Override) -> None: ...

    def overrides(self, subject_id: str) -> list[Override]: ...


class RestrictionRepository(Protocol):
    def add_restriction(self, restriction: Restriction) -> None: ...

    def update_restriction(self, restriction: Restriction) -> None: ...

    def restrictions(self, subject_id: str) -> list[Restriction]: ...


class SubjectStateRepository(
    ConsentRepository, ObjectionRepository, OverrideRepository, RestrictionRepository, Protocol
):
    """All four record kinds in one store."""


class SubjectLedger(Protocol):
    """The append-only consent ledger (SPEC C1, C4): entries are added, never changed."""

    def append(self, entry: LedgerEntry) -> None: ...

    def entries(self, subject_id: str) -> list[LedgerEntry]:
        """The subject's entries in ledger order (time, then id)."""
        ...


class NoticeAddress(Protocol):
    """Where a notice to the person goes (their e-mail address), or None when none is held."""

    def __call__(self, subject_id: str) -> str | None: ...
