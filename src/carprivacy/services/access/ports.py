"""The ports of the gate and the decision service (U1-U3)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from carprivacy.domain.access import Decision, DecisionRequest
from carprivacy.domain.automated_decisions import AutomatedDecision, ReviewRequest
from carprivacy.domain.decision_facts import FactsSnapshot
from carprivacy.domain.telemetry import StoredReading, TelemetryWindow


class DecisionFacts(Protocol):
    """Every fact a decision needs (consents, objections, overrides, restrictions, contracts,
    usage and fleet periods, country) for some subjects and vehicles, in one transaction.
    ``countries=False``: the decisions need no country of residence (none of their recipients
    is limited to service countries), so none is opened."""

    def snapshot(
        self, subject_ids: Collection[str], vehicle_ids: Collection[str], *, countries: bool = True
    ) -> FactsSnapshot: ...


class AuditRecorder(Protocol):
    """Where every decision is recorded, allow and deny alike (the audit trail, U3)."""

    def record(self, request: DecisionRequest, decision: Decision) -> None: ...

    def record_many(self, pairs: Sequence[tuple[DecisionRequest, Decision]]) -> object: ...

    def record_read(self, pairs: Sequence[tuple[DecisionRequest, Decision]]) -> object:
        """The decisions of ONE read of several records: recorded as one access to their
        subjects (one entry per distinct decision, naming the subjects), in one transaction."""
        ...


class ReadSession(DecisionFacts, Protocol):
    """One read transaction in which the gate loads records and their decision facts (the
    master-data unit of work is one)."""

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class AutomatedDecisionRepository(Protocol):
    def add(self, decision: AutomatedDecision) -> None: ...

    def get(self, decision_id: str) -> AutomatedDecision | None: ...

    def add_review(self, review: ReviewRequest) -> None: ...

    def save_review(self, review: ReviewRequest) -> None: ...

    def review(self, review_id: str) -> ReviewRequest | None: ...

    def reviews_of(self, decision_id: str) -> list[ReviewRequest]: ...


class TelemetryReader(Protocol):
    """Stored telemetry of one vehicle or subject over a period, in (ts, id) order, a bounded
    page at a time (the telemetry store)."""

    def window(
        self, window: TelemetryWindow, after: tuple[datetime, int] | None, limit: int
    ) -> list[StoredReading]: ...
