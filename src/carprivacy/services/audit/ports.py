"""The ports of the audit room (SPEC U3): the trail the gate records to, where the hash-chained
log and the alerts are kept, and who signs the log's checkpoints."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from carprivacy.domain.access import Decision, DecisionRequest
from carprivacy.domain.audit import AuditEntry, Checkpoint
from carprivacy.domain.monitoring import Acknowledgement, Alert, CallerWindow
from carprivacy.domain.witness import WitnessHead

if TYPE_CHECKING:
    from carprivacy.services.audit.monitoring import AlertQuery
    from carprivacy.services.audit.trail import AuditQuery


class AuditTrail(Protocol):
    """Where the decision engine records every decision (the agreed port)."""

    def record(self, request: DecisionRequest, decision: Decision) -> None: ...


class AuditLogRepository(Protocol):
    def head(self) -> tuple[int, str] | None: ...

    def append(self, entries: Sequence[AuditEntry]) -> None:
        """All or nothing; raises AuditChainConflictError when a seq is already taken."""
        ...

    def iter_entries(self, batch: int = 5000) -> Iterator[AuditEntry]: ...

    def find(self, query: AuditQuery) -> list[AuditEntry]: ...

    def add_checkpoint(self, checkpoint: Checkpoint) -> None: ...

    def checkpoints(self) -> list[Checkpoint]: ...


class AlertRepository(Protocol):
    def add(self, new: Sequence[Alert]) -> int:
        """Store the alerts not stored yet; returns how many were new."""
        ...

    def list(self, query: AlertQuery) -> list[Alert]:
        """The alerts ``query`` selects, newest first, each with its acknowledgements."""
        ...

    def get(self, alert_id: str) -> Alert | None: ...

    def acknowledge(self, acknowledgement: Acknowledgement) -> None:
        """Append an acknowledgement (earlier ones stay); the alert exists."""
        ...


class WindowSession(Protocol):
    """The monitoring windows of some callers, held against every other process until the
    session ends, when the windows handed out are stored."""

    def window(self, caller_id: str) -> CallerWindow:
        """The caller's window (one of the session's callers), changed in place."""
        ...

    def count(self, caller_id: str, hour: datetime, refs: Sequence[str]) -> int:
        """Add subject refs to the caller's hour; the distinct subjects of that hour."""
        ...


class MonitoringWindows(Protocol):
    """Where the rules' per-caller windows are kept: in one place for every process that serves
    requests, so that a caller's accesses are counted together whichever process serves them."""

    def session(self, caller_ids: Collection[str]) -> AbstractContextManager[WindowSession]: ...


class CheckpointSigner(Protocol):
    """Signs checkpoint payloads and checks signatures. The key lives outside the database; a
    signature made under another key, or over another payload, does not check."""

    @property
    def key_id(self) -> str:
        """Names the signing key in each checkpoint (a verifier picks the key by it)."""
        ...

    def sign(self, payload: bytes) -> str: ...

    def check(self, payload: bytes, signature: str, key_id: str) -> bool:
        """True only for a signature of ``payload`` under this signer's key ``key_id``."""
        ...


class AuditWitness(Protocol):
    """Where the log's signed heads go, outside the database and beyond its writer's reach:
    append only; heads are read back in the order written."""

    def extend(
        self, build: Callable[[WitnessHead | None], WitnessHead | None]
    ) -> WitnessHead | None:
        """Append ``build(last head)`` unless it is None, atomically against other writers."""
        ...

    def last(self) -> WitnessHead | None: ...

    def heads(self) -> Iterator[WitnessHead]: ...
