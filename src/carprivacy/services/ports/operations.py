"""Ports the operator's commands and the health check use: the database itself (reachable,
migrated) and the quarantine listing. SQL adapters and in-memory fakes implement them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from carprivacy.domain.errors import MasterKeyRotationError as MasterKeyRotationError
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


@dataclass(frozen=True)
class RotationOutcome:
    """What a finished master-key rotation did."""

    new_id: str
    rewrapped: int  # data keys moved to the new key
    key_file: Path  # where the new key is now
    from_environment: bool  # the old key came from CARPRIVACY_MASTER_KEY


class MasterKeyRotation(Protocol):
    def __call__(
        self,
        *,
        new_key_file: Path | None = None,
        progress: Callable[[int, int], None] = ...,
        waiting: Callable[[], None] = ...,
    ) -> RotationOutcome: ...
