"""Bodies and answers of the rights-request routes (SPEC R1-R8)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from carprivacy.domain.access import Caller, Role
from carprivacy.services.rights.ports import StoredRequest

KIND = Field(
    description="access, rectification, erasure, restriction, portability or objection "
    "(Art. 15-21 GDPR)."
)
DETAILS: Any = Field(
    default_factory=dict,
    description="What the request asks: rectification {changes: {field: value}}; restriction "
    "{case, categories, note}; portability {format, endpoint}; objection {purpose, marketing, "
    "grounds}.",
)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MyRequestIn(_In):
    kind: str = KIND
    controller: str | None = Field(None, max_length=64, description="Either joint controller.")
    details: dict[str, Any] = DETAILS
    language: str = Field("nl", description="The language of the notices (nl or en).")


class StaffRequestIn(MyRequestIn):
    subject_id: str = Field(min_length=1, max_length=64, description="The person it is of.")
    channel: str = Field("call_centre", description="call_centre or letter.")


class VerificationIn(_In):
    method: str = Field(description="email_code or staff_evidence.")
    code: str | None = Field(None, max_length=12, description="The code the person received.")
    evidence: str | None = Field(None, max_length=1000, description="What staff checked.")


class CompletionIn(_In):
    partial_reason: str | None = Field(
        None, max_length=2000, description="Carried out only in part: why (told to the person)."
    )
    note: str = Field("", max_length=2000)


class RefusalIn(_In):
    reason: str = Field(min_length=1, max_length=2000, description="Told to the person.")


class ExtensionIn(_In):
    months: int = Field(ge=1, le=2, description="By how many months (two at most in total).")
    reason: str = Field(min_length=1, max_length=1000, description="Told to the person.")


class ChangeOut(BaseModel):
    before: str | None
    after: str
    at: datetime
    by: str
    reason: str


class RequestOut(BaseModel):
    id: str
    kind: str
    article: str
    subject_id: str
    controller: str
    channel: str
    state: str
    verification: str | None
    received_at: datetime
    due_date: str
    due_by: datetime
    standing: str | None
    extended_months: int
    history: list[ChangeOut]
    details: dict[str, Any]
    outcome: dict[str, Any]

    @classmethod
    def of(cls, stored: StoredRequest, now: datetime, viewer: Caller) -> RequestOut:
        r = stored.request
        person = viewer.role is Role.CUSTOMER
        history = [
            ChangeOut(
                before=None if h.before is None else h.before.value,
                after=h.after.value,
                at=h.at,
                # the staff member's id is another's data (Art. 15(4)): the person sees "staff"
                by=h.by if not person or h.by == viewer.id else "staff",
                reason=h.reason,
            )
            for h in r.history
        ]
        standing = r.standing(now)
        return cls(
            id=r.id,
            kind=r.kind.value,
            article=r.kind.article,
            subject_id=r.subject_id,
            controller=r.controller,
            channel=r.channel.value,
            state=r.state.value,
            verification=None if r.verification is None else r.verification.value,
            received_at=r.deadline.received_at,
            due_date=r.deadline.due_date.isoformat(),
            due_by=r.deadline.due_by,
            standing=None if standing is None else standing.value,
            extended_months=r.deadline.extended_months,
            history=history,
            details=dict(stored.details),
            outcome=dict(stored.outcome),
        )
