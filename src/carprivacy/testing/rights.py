"""In-memory fakes of the rights-request ports: requests, the rectification log, an erasure
executor that records what it was asked."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from carprivacy.services.rights.ports import (
    ErasureOutcome,
    FieldChange,
    RequestFilter,
    StoredRequest,
)


@dataclass
class InMemoryRightsRequestRepository:
    stored: dict[str, StoredRequest] = field(default_factory=dict)

    def add(self, stored: StoredRequest) -> None:
        if stored.request.id in self.stored:
            raise ValueError("a request with this id exists")
        self.stored[stored.request.id] = stored

    def save(self, stored: StoredRequest) -> None:
        self.stored[stored.request.id] = stored

    def get(self, request_id: str) -> StoredRequest | None:
        return self.stored.get(request_id)

    def find(self, query: RequestFilter) -> list[StoredRequest]:
        found = [
            s
            for s in self.stored.values()
            if (query.subject_id is None or s.request.subject_id == query.subject_id)
            and (query.state is None or s.request.state is query.state)
            and (not query.open_only or not s.request.state.final)
            and (
                query.due_before is None
                or (not s.request.state.final and s.request.deadline.due_by <= query.due_before)
            )
        ]
        found.sort(key=lambda s: (s.request.deadline.due_by, s.request.id))
        return found[query.offset : query.offset + query.limit]


@dataclass
class InMemoryRectificationLog:
    changes: list[FieldChange] = field(default_factory=list)

    def add(self, changes: list[FieldChange]) -> None:
        self.changes.extend(changes)

    def of(self, subject_id: str) -> list[FieldChange]:
        return [c for c in self.changes if c.subject_id == subject_id]


@dataclass
class FakeErasureExecutor:
    """Answers ``outcome`` and keeps what it was asked to erase."""

    outcome: ErasureOutcome = field(default_factory=lambda: ErasureOutcome(("all data",)))
    calls: list[tuple[str, str, str, str, datetime]] = field(default_factory=list)

    def erase(
        self, subject_id: str, *, controller: str, request_id: str, by: str, at: datetime
    ) -> ErasureOutcome:
        self.calls.append((subject_id, controller, request_id, by, at))
        return self.outcome
