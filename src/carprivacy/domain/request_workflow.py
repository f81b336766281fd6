"""The states of a data-subject request (SPEC R1-R8; Art. 12, 15-21 GDPR), pure.

A request for access (Art. 15), rectification (16), erasure (17), restriction (18),
portability (20) or objection (21) is received from the person (portal, API) or recorded by
staff on their behalf (call centre, letter) at either joint controller. It moves:

    received ──verify──▶ verified ──start──▶ in_progress ──complete──▶ completed
        │                    │                     ├──partially_refuse──▶ partially_refused
        └──────refuse────────┴───────refuse────────┴──refuse──▶ refused

- nothing is released or changed before the identity is verified (Art. 12(6)): ``start`` needs
  ``verified``, and verification names how (a logged-in session, an e-mail code, or evidence
  staff recorded);
- a refusal or partial refusal names its reason, told to the person with the route to the
  supervisory authority (Art. 12(4); R8), so a reason is required;
- every change records who, when and why; time does not run backwards; the three end states
  are final;
- the deadline (``domain.request_deadlines``) runs from receipt; an open request has a standing
  (on time, nearly due, overdue), a closed one none.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from carprivacy.domain.errors import InvalidInputError, Problem
from carprivacy.domain.policy import DeadlineRule
from carprivacy.domain.request_deadlines import DeadlineStanding, RequestDeadline, deadline_for


class RequestKind(StrEnum):
    ACCESS = "access"
    RECTIFICATION = "rectification"
    ERASURE = "erasure"
    RESTRICTION = "restriction"
    PORTABILITY = "portability"
    OBJECTION = "objection"

    @property
    def article(self) -> str:
        return {
            RequestKind.ACCESS: "Art. 15 GDPR",
            RequestKind.RECTIFICATION: "Art. 16 GDPR",
            RequestKind.ERASURE: "Art. 17 GDPR",
            RequestKind.RESTRICTION: "Art. 18 GDPR",
            RequestKind.PORTABILITY: "Art. 20 GDPR",
            RequestKind.OBJECTION: "Art. 21 GDPR",
        }[self]


class RequestChannel(StrEnum):
    PORTAL = "portal"
    API = "api"
    CALL_CENTRE = "call_centre"  # recorded by staff on the person's behalf
    LETTER = "letter"  # recorded by staff on the person's behalf


class Verification(StrEnum):
    SESSION = "session"  # a logged-in session of the person
    EMAIL_CODE = "email_code"
    STAFF_EVIDENCE = "staff_evidence"  # evidence staff checked and recorded


class RequestState(StrEnum):
    RECEIVED = "received"
    VERIFIED = "verified"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    REFUSED = "refused"
    PARTIALLY_REFUSED = "partially_refused"

    @property
    def final(self) -> bool:
        return self in _FINAL


_FINAL = frozenset({RequestState.COMPLETED, RequestState.REFUSED, RequestState.PARTIALLY_REFUSED})
TRANSITIONS: dict[RequestState, frozenset[RequestState]] = {
    RequestState.RECEIVED: frozenset({RequestState.VERIFIED, RequestState.REFUSED}),
    RequestState.VERIFIED: frozenset({RequestState.IN_PROGRESS, RequestState.REFUSED}),
    RequestState.IN_PROGRESS: frozenset(
        {RequestState.COMPLETED, RequestState.PARTIALLY_REFUSED, RequestState.REFUSED}
    ),
    RequestState.COMPLETED: frozenset(),
    RequestState.REFUSED: frozenset(),
    RequestState.PARTIALLY_REFUSED: frozenset(),
}
NEEDS_REASON = frozenset({RequestState.REFUSED, RequestState.PARTIALLY_REFUSED})


@dataclass(frozen=True)
class StateChange:
    """One change: from and to, who, when and why."""

    before: RequestState | None  # None: the receipt
    after: RequestState
    at: datetime
    by: str
    reason: str = ""


@dataclass(frozen=True)
class DataSubjectRequest:
    id: str
    kind: RequestKind
    subject_id: str
    controller: str
    channel: RequestChannel
    deadline: RequestDeadline
    history: tuple[StateChange, ...]
    verification: Verification | None = None

    @property
    def state(self) -> RequestState:
        return self.history[-1].after

    def standing(self, now: datetime) -> DeadlineStanding | None:
        """On time, nearly due or overdue while open; None once it reached an end state."""
        return None if self.state.final else self.deadline.standing(now)

    def verify(self, how: Verification, *, by: str, at: datetime) -> DataSubjectRequest:
        moved = self._move(RequestState.VERIFIED, by, at, f"identity verified: {how.value}")
        return replace(moved, verification=how)

    def start(self, *, by: str, at: datetime) -> DataSubjectRequest:
        return self._move(RequestState.IN_PROGRESS, by, at, "")

    def complete(self, *, by: str, at: datetime, note: str = "") -> DataSubjectRequest:
        return self._move(RequestState.COMPLETED, by, at, note)

    def refuse(self, *, by: str, at: datetime, reason: str) -> DataSubjectRequest:
        return self._move(RequestState.REFUSED, by, at, reason)

    def partially_refuse(self, *, by: str, at: datetime, reason: str) -> DataSubjectRequest:
        return self._move(RequestState.PARTIALLY_REFUSED, by, at, reason)

    def extend(
        self, months: int, reason: str, *, by: str, told_at: datetime, at: datetime
    ) -> DataSubjectRequest:
        """The deadline extended (Art. 12(3)): only while open, with its reason, told to the person
        within the first month; recorded in the history with the state unchanged."""
        if self.state.final:
            raise InvalidInputError(
                [
                    Problem(
                        "state",
                        "request.transition",
                        f"a request that is {self.state.value} is not extended (Art. 12(3) GDPR)",
                    )
                ]
            )
        deadline = self.deadline.extend(months, reason, decided_by=by, told_at=told_at, now=at)
        note = f"deadline extended by {months} month(s) to {deadline.due_date.isoformat()}: "
        change = StateChange(self.state, self.state, at, by.strip(), note + reason.strip())
        return replace(self, deadline=deadline, history=(*self.history, change))

    def _move(self, to: RequestState, by: str, at: datetime, reason: str) -> DataSubjectRequest:
        problems: list[Problem] = []
        if to not in TRANSITIONS[self.state]:
            problems.append(
                Problem(
                    "state",
                    "request.transition",
                    f"a request that is {self.state.value} cannot become {to.value}"
                    + (
                        " before its requester's identity is verified (Art. 12(6) GDPR)"
                        if to is RequestState.IN_PROGRESS
                        else " (Art. 12 GDPR)"
                    ),
                )
            )
        if not by or not by.strip():
            problems.append(Problem("by", "request.actor", "name who made the change"))
        if at.tzinfo is None or at.utcoffset() is None:
            problems.append(Problem("at", "request.time_zone", "a moment with its time zone"))
        elif at < self.history[-1].at:
            problems.append(
                Problem("at", "request.time_order", "not before the request's last change")
            )
        if to in NEEDS_REASON and not reason.strip():
            problems.append(
                Problem(
                    "reason",
                    "request.refusal_reason",
                    "a refusal names its reason, told to the person with the right to complain "
                    "to the supervisory authority (Art. 12(4) GDPR)",
                )
            )
        if problems:
            raise InvalidInputError(problems)
        change = StateChange(self.state, to, at, by.strip(), reason.strip())
        return replace(self, history=(*self.history, change))


def receive(
    *,
    id: str,
    kind: RequestKind,
    subject_id: str,
    controller: str,
    channel: RequestChannel,
    received_at: datetime,
    by: str,
    rule: DeadlineRule | None = None,
) -> DataSubjectRequest:
    """A request as received; its deadline runs from ``received_at``."""
    problems: list[Problem] = []
    for path, value in (("subject_id", subject_id), ("controller", controller), ("by", by)):
        if not value or not value.strip():
            problems.append(Problem(path, "request.required", "must be a non-empty text"))
    if problems:
        raise InvalidInputError(problems)
    deadline = deadline_for(received_at, rule)
    return DataSubjectRequest(
        id=id,
        kind=kind,
        subject_id=subject_id,
        controller=controller,
        channel=channel,
        deadline=deadline,
        history=(StateChange(None, RequestState.RECEIVED, received_at, by.strip()),),
    )
