"""Ports the operator's commands and the health check use: the database itself (reachable,
migrated) and the quarantine listing. SQL adapters and in-memory fakes implement them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Protocol

from carprivacy.domain.telemetry import QuarantineRow


class Database(Protocol):
    """The store as a whole: where it is, whether it answers, which schema revision it has."""

    def where(self) -> str:
        """The store to show a person: a SQLite file, or a URL without its password."""
        ...

    def ping(self) -> bool:
        """True when the store answers a trivial query (never raises)."""
        ...

    def current_revision(self) -> str | None: ...

    def upgrade(self, revision: str = "head") -> None: ...

    def has_tables(self) -> bool:
        """True once the schema exists (``carprivacy db upgrade`` ran)."""
        ...

    def dispose(self) -> None:
        """Close every pooled connection."""
        ...


class QuarantineReader(Protocol):
    def quarantine_counts(self) -> dict[str, int]: ...

    def quarantine_recent(
        self,
        limit: int | None,
        *,
        source: str | None = None,
        rule: str | None = None,
        since: datetime | None = None,
    ) -> list[tuple[int, QuarantineRow]]: ...


class MasterKeyRotationError(Exception):
    """A master-key rotation could not go on (``stopped=False``: nothing changed) or stopped
    part-way (``stopped=True``: keys re-wrapped so far are under the new key; running it again
    finishes). The message says why, naming key ids only, never an owner."""

    def __init__(self, message: str, *, stopped: bool) -> None:
        super().__init__(message)
        self.stopped = stopped


class RotationOutcome(Protocol):
    @property
    def new_id(self) -> str: ...

    @property
    def rewrapped(self) -> int: ...

    @property
    def key_file(self) -> Path: ...

    @property
    def from_environment(self) -> bool: ...


class MasterKeyRotation(Protocol):
    def __call__(
        self,
        *,
        new_key_file: Path | None = None,
        progress: Callable[[int, int], None] = ...,
        waiting: Callable[[], None] = ...,
    ) -> RotationOutcome: ...
