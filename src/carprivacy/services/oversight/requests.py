"""The requests page's lines (SPEC R7; Art. 12(3) GDPR): each request's kind, state, receipt,
due date (original and extended) and standing at a moment, from the domain's own deadline rule;
open requests first, the most urgent on top. The subject is not shown: only the request id."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from carprivacy.domain.request_deadlines import DeadlineStanding
from carprivacy.domain.request_workflow import DataSubjectRequest, RequestKind, RequestState

MAX_SHOWN = 200


@dataclass(frozen=True)
class RequestLine:
    id: str
    kind: RequestKind
    state: RequestState
    controller: str
    received_at: datetime
    original_due: date
    due: date  # the extended due date where extended
    original_due_by: datetime  # the first instant it would be late without an extension
    due_by: datetime  # the first instant the answer is late
    extended_months: int
    standing: DeadlineStanding | None  # None: it reached an end state
    closed_at: datetime | None  # when it reached its end state

    @property
    def extended(self) -> bool:
        return self.extended_months > 0

    @property
    def nearly_due(self) -> bool:
        return self.standing is DeadlineStanding.NEARLY_DUE

    @property
    def overdue(self) -> bool:
        return self.standing is DeadlineStanding.OVERDUE

    @property
    def article(self) -> str:
        return self.kind.article

    @classmethod
    def of(cls, request: DataSubjectRequest, now: datetime) -> RequestLine:
        d = request.deadline
        return cls(
            id=request.id,
            kind=request.kind,
            state=request.state,
            controller=request.controller,
            received_at=d.received_at,
            original_due=d.original_due_date,
            due=d.due_date,
            original_due_by=d.original_due_by,
            due_by=d.due_by,
            extended_months=d.extended_months,
            standing=request.standing(now),
            closed_at=request.history[-1].at if request.state.final else None,
        )


_URGENCY = {
    DeadlineStanding.OVERDUE: 0,
    DeadlineStanding.NEARLY_DUE: 1,
    DeadlineStanding.ON_TIME: 2,
}


def request_lines(requests: Iterable[DataSubjectRequest], now: datetime) -> list[RequestLine]:
    """Open requests first (overdue, nearly due, on time; the earliest due first), then the
    closed ones (the latest closed first)."""
    lines = [RequestLine.of(r, now) for r in requests]
    open_ = sorted(
        (x for x in lines if x.standing is not None),
        key=lambda x: (_URGENCY[x.standing] if x.standing else 3, x.due_by, x.id),
    )
    closed = sorted(
        (x for x in lines if x.standing is None),
        key=lambda x: (x.closed_at or x.received_at, x.id),
        reverse=True,
    )
    return open_ + closed


@dataclass(frozen=True)
class RequestTally:
    open: int
    nearly_due: int
    overdue: int
    extended: int
    closed: int


def tally(lines: Iterable[RequestLine]) -> RequestTally:
    items = list(lines)
    return RequestTally(
        open=sum(1 for x in items if x.standing is not None),
        nearly_due=sum(1 for x in items if x.nearly_due),
        overdue=sum(1 for x in items if x.overdue),
        extended=sum(1 for x in items if x.extended and x.standing is not None),
        closed=sum(1 for x in items if x.standing is None),
    )
