"""Pydantic schemas of the access API: tokens, callers, audit, alerts, automated decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from carprivacy.domain.audit import AuditEntry, Finding, Verification
from carprivacy.domain.automated_decisions import AutomatedDecision, ReviewRequest
from carprivacy.domain.monitoring import Alert
from carprivacy.domain.witness import WitnessVerification
from carprivacy.entrypoints.api.schemas.text import Line, Text
from carprivacy.services.identity.callers import CallerRecord
from carprivacy.services.identity.tokens import Token


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int
    scope: str = ""

    @classmethod
    def of(cls, t: Token) -> TokenOut:
        return cls(
            access_token=t.access_token,
            token_type=t.token_type,
            expires_in=t.expires_in,
            scope=t.scope,
        )


class LoginIn(BaseModel):
    login: Line = Field(min_length=1, max_length=320, description="E-mail address or caller id.")
    password: str = Field(min_length=1, max_length=1024)


class EmailCodeIn(BaseModel):
    email: Line = Field(min_length=3, max_length=320)


class EmailCodeStarted(BaseModel):
    code_id: str
    detail: str = "if the address belongs to a caller, a code was sent"


class EmailCodeVerifyIn(BaseModel):
    code_id: Line = Field(min_length=1, max_length=64)
    code: str = Field(pattern=r"^[0-9]{6}$")


class CallerIn(BaseModel):
    id: Line | None = Field(None, max_length=64, description="Default: generated.")
    name: Line = Field(min_length=1, max_length=200)
    kind: Line = Field(max_length=20, description="person | machine")
    role: Line = Field(max_length=64)
    organisation: Line = Field(
        max_length=200, description="A recipient id or controller id of the policy."
    )
    scopes: list[Annotated[Line, Field(max_length=64)]] = Field(
        default_factory=list, max_length=100
    )
    email: Line | None = Field(None, max_length=320)
    subject_id: Line | None = Field(None, max_length=64)
    fleet_id: Line | None = Field(None, max_length=64)
    password: str | None = Field(None, max_length=1024)
    generate_secret: bool = False


class CallerOut(BaseModel):
    id: str
    name: str
    kind: str
    role: str
    organisation: str
    scopes: list[str]
    has_email: bool
    has_subject: bool = Field(description="A customer caller linked to its data subject.")
    subject_id: str | None = Field(
        None, description="Only in the answer that created it (the data subject's id)."
    )
    fleet_id: str | None
    disabled: bool
    created_at: datetime
    client_secret: str | None = Field(
        None, description="Only in the answer that created it: store it now."
    )

    @classmethod
    def of(cls, r: CallerRecord, secret: str | None = None, *, created: bool = False) -> CallerOut:
        return cls(
            id=r.id,
            name=r.name,
            kind=r.kind.value,
            role=r.role.value,
            organisation=r.organisation,
            scopes=sorted(r.scopes),
            has_email=r.email is not None,
            has_subject=r.subject_id is not None,
            subject_id=r.subject_id if created else None,
            fleet_id=r.fleet_id,
            disabled=r.disabled,
            created_at=r.created_at,
            client_secret=secret,
        )


class AuditEntryOut(BaseModel):
    seq: int
    at: str
    caller_id: str
    organisation: str
    role: str
    purpose: str
    subject_ref: str
    vehicle_ref: str
    categories: list[str]
    outcome: str
    rule: str
    form: str
    action: str
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, e: AuditEntry) -> AuditEntryOut:
        return cls(
            seq=e.seq,
            at=e.at,
            caller_id=e.caller_id,
            organisation=e.organisation,
            role=e.role,
            purpose=e.purpose,
            subject_ref=e.subject_ref,
            vehicle_ref=e.vehicle_ref,
            categories=[c for c in e.categories.split(",") if c],
            outcome=e.outcome,
            rule=e.rule,
            form=e.form,
            action=e.action,
            prev_hash=e.prev_hash,
            hash=e.hash,
        )


class FindingOut(BaseModel):
    position: int
    seq: int
    tamper: str
    message: str

    @classmethod
    def of(cls, f: Finding) -> FindingOut:
        return cls(position=f.position, seq=f.seq, tamper=f.tamper.value, message=f.message)


class VerificationOut(BaseModel):
    ok: bool
    entries_checked: int
    checkpoints_checked: int
    first_bad: FindingOut | None

    @classmethod
    def of(cls, v: Verification | WitnessVerification) -> VerificationOut:
        return cls(
            ok=v.ok,
            entries_checked=v.entries_checked,
            checkpoints_checked=v.checkpoints_checked,
            first_bad=FindingOut.of(v.finding) if v.finding else None,
        )


class CheckpointOut(BaseModel):
    seq: int
    entry_hash: str
    at: str
    key_id: str
    signature: str


class AcknowledgementOut(BaseModel):
    by: str
    at: datetime
    note: str


class AcknowledgementIn(BaseModel):
    note: Text = Field(min_length=1, max_length=2000, description="What the reviewer found.")


class AlertOut(BaseModel):
    id: str
    rule: str
    caller_id: str
    organisation: str
    role: str
    at: datetime
    window_start: datetime
    count: int
    threshold: int
    entry_seq: int
    message: str
    acknowledged: bool
    acknowledgements: list[AcknowledgementOut]

    @classmethod
    def of(cls, a: Alert) -> AlertOut:
        return cls(
            id=a.id,
            rule=a.rule.value,
            caller_id=a.caller_id,
            organisation=a.organisation,
            role=a.role,
            at=a.at,
            window_start=a.window_start,
            count=a.count,
            threshold=a.threshold,
            entry_seq=a.entry_seq,
            message=a.message,
            acknowledged=a.acknowledged,
            acknowledgements=[
                AcknowledgementOut(by=k.by, at=k.at, note=k.note) for k in a.acknowledgements
            ],
        )


InputName = Annotated[Line, Field(max_length=100)]
InputValue = Annotated[Text, Field(max_length=2000)]


class AutomatedDecisionIn(BaseModel):
    subject_id: Line = Field(min_length=1, max_length=64)
    purpose: Line = Field(min_length=1, max_length=100)
    model: Line = Field(min_length=1, max_length=200)
    model_version: Line = Field(min_length=1, max_length=200)
    inputs: dict[
        Annotated[Line, Field(max_length=100)], Annotated[Text, Field(max_length=2000)]
    ] = Field(min_length=1, max_length=100)
    categories: list[Annotated[Line, Field(max_length=100)]] = Field(
        min_length=1, max_length=100, description="Policy categories of the inputs."
    )
    outcome: Text = Field(min_length=1, max_length=2000)
    at: datetime | None = None


class ReviewOut(BaseModel):
    id: str
    decision_id: str
    requested_by: str
    requested_at: datetime
    reason: str
    status: str
    reviewer: str | None
    outcome: str | None
    new_outcome: str | None
    note: str | None
    reviewed_at: datetime | None

    @classmethod
    def of(cls, r: ReviewRequest) -> ReviewOut:
        return cls(
            id=r.id,
            decision_id=r.decision_id,
            requested_by=r.requested_by,
            requested_at=r.requested_at,
            reason=r.reason,
            status=r.status.value,
            reviewer=r.reviewer,
            outcome=r.outcome.value if r.outcome else None,
            new_outcome=r.new_outcome,
            note=r.note,
            reviewed_at=r.reviewed_at,
        )


class AutomatedDecisionOut(BaseModel):
    id: str
    subject_id: str
    purpose: str
    model: str
    model_version: str
    inputs: dict[str, str]
    categories: list[str]
    outcome: str
    at: datetime
    recorded_by: str
    reviews: list[ReviewOut] = Field(default_factory=list)

    @classmethod
    def of(
        cls, d: AutomatedDecision, reviews: list[ReviewRequest] | None = None
    ) -> AutomatedDecisionOut:
        return cls(
            id=d.id,
            subject_id=d.subject_id,
            purpose=d.purpose,
            model=d.model,
            model_version=d.model_version,
            inputs=d.inputs,
            categories=list(d.categories),
            outcome=d.outcome,
            at=d.at,
            recorded_by=d.recorded_by,
            reviews=[ReviewOut.of(r) for r in reviews or []],
        )


class ReviewRequestIn(BaseModel):
    reason: Text = Field(min_length=1, max_length=4000)


class ReviewDecisionIn(BaseModel):
    outcome: Line = Field(max_length=20, description="upheld | changed | annulled")
    note: Text = Field(min_length=1, max_length=4000)
    new_outcome: Text | None = Field(None, max_length=2000)
