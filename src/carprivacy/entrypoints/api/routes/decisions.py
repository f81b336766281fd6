"""``POST /v1/decisions``: the policy decision point for external systems (U1).

Like OPA's data API: the body is one request, or ``{"requests": [...]}`` for a batch; the answer
is the same Decision the engine gives internally, with its reasons (rule, GDPR article, notice
section). The caller must be authenticated. By default it asks for itself; with the scope
``decisions:query`` (or as administrator) it may ask on behalf of another caller
(``on_behalf_of``: organisation and role). Every decision is written to the audit log.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from fastapi.exceptions import RequestValidationError
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from carprivacy.domain.access import Caller, CallerKind, Decision, DecisionRequest, Role
from carprivacy.domain.errors import AccessDeniedError, InvalidInputError, Problem
from carprivacy.domain.policy import Policy
from carprivacy.entrypoints.api.auth import get_caller
from carprivacy.entrypoints.api.deps import get_decisions
from carprivacy.services.access.decisions import DecisionService
from carprivacy.services.access.purposes import check_purpose
from carprivacy.services.audit.trail import ASKED_BY

router = APIRouter(tags=["decisions"])

QUERY_SCOPE = "decisions:query"
MAX_BATCH = 1000
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


class OnBehalfOf(BaseModel):
    model_config = ConfigDict(extra="forbid")
    organisation: Id
    role: Role
    caller_id: Id = "on-behalf"
    kind: CallerKind = CallerKind.MACHINE
    subject_id: Id | None = None


class DecisionRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    purpose: Id
    categories: list[Id] = Field(min_length=1, max_length=64)
    at: AwareDatetime | None = Field(None, description="Time of use; default: now.")
    subject_id: Id | None = None
    vehicle_id: Id | None = None
    expires_at: AwareDatetime | None = Field(
        None, description="Expiry of the records concerned: past expiry is always denied."
    )
    on_behalf_of: OnBehalfOf | None = None


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    requests: list[DecisionRequestIn] = Field(min_length=1, max_length=MAX_BATCH)


class ReasonOut(BaseModel):
    rule: str
    article: str
    section: str
    message: str


class DecisionOut(BaseModel):
    outcome: str
    allowed: bool
    rule: str
    purpose: str
    categories: list[str]
    form: str | None
    fields: dict[str, list[str]] | None
    at: datetime | None
    reasons: list[ReasonOut]

    @classmethod
    def of(cls, d: Decision) -> DecisionOut:
        return cls(
            outcome=d.outcome.value,
            allowed=d.allowed,
            rule=d.rule,
            purpose=d.purpose,
            categories=list(d.categories),
            form=d.form.value if d.form else None,
            fields={k: list(v) for k, v in d.fields.items()} if d.fields is not None else None,
            at=d.at,
            reasons=[ReasonOut(**r.__dict__) for r in d.reasons],
        )


class BatchOut(BaseModel):
    decisions: list[DecisionOut]


def _asker(caller: Caller, body: DecisionRequestIn, policy: Policy, path: str) -> Caller:
    other = body.on_behalf_of
    if other is None:
        return caller
    if QUERY_SCOPE not in caller.scopes and caller.role is not Role.ADMINISTRATOR:
        raise AccessDeniedError(
            f"asking on behalf of another caller needs the scope {QUERY_SCOPE}",
            ("caller.scope",),
        )
    if other.organisation not in policy.recipients_by_id and (
        other.organisation not in policy.controllers_by_id
    ):
        raise InvalidInputError(
            [
                Problem(
                    f"{path}on_behalf_of.organisation",
                    "unknown",
                    "not a recipient or controller of the policy",
                )
            ]
        )
    return Caller(
        id=other.caller_id,
        kind=other.kind,
        role=other.role,
        organisation=other.organisation,
        subject_id=other.subject_id,
    )


def _request(
    caller: Caller,
    body: DecisionRequestIn,
    decisions: DecisionService,
    now: datetime,
    path: str = "",
) -> DecisionRequest:
    extra = {"expires_at": body.expires_at.isoformat()} if body.expires_at else {}
    asker = _asker(caller, body, decisions.policy.policy, path)
    # a purpose the policy does not declare is bad input (422 listing the asker's purposes)
    check_purpose(decisions.policy, asker, body.purpose, f"{path}purpose")
    if asker is not caller:  # the audit log names who asked and for whom
        extra[ASKED_BY] = caller.id
        extra["action"] = (
            f"decision on behalf of {asker.id} ({asker.organisation}, {asker.role.value})"
        )
    return DecisionRequest(
        caller=asker,
        purpose=body.purpose,
        categories=tuple(dict.fromkeys(body.categories)),
        at=(body.at or now).astimezone(UTC),
        subject_id=body.subject_id,
        vehicle_id=body.vehicle_id,
        extra=extra,
    )


# The documented body: one request or a batch (schemas inline; OpenAPI 3.1 allows $defs)
_POINTER = "#/paths/~1v1~1decisions/post/requestBody/content/application~1json/schema/$defs/{model}"
_BODY = {"schema": TypeAdapter(DecisionRequestIn | BatchIn).json_schema(ref_template=_POINTER)}


def _parse(raw: Any) -> BatchIn | DecisionRequestIn:
    """The body in the shape it most likely meant: with ``requests`` a batch, else one request.

    Validating against both shapes at once would give a 422 listing the errors of both;
    this gives the error set of one shape, fields named as in that shape."""
    shape: type[BatchIn] | type[DecisionRequestIn] = (
        BatchIn if isinstance(raw, dict) and "requests" in raw else DecisionRequestIn
    )
    try:
        return shape.model_validate(raw)
    except ValidationError as e:
        errors = [{**err, "loc": ("body", *err["loc"])} for err in e.errors()]
        raise RequestValidationError(errors, body=raw) from None


@router.post(
    "/v1/decisions",
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": _BODY}}},
    summary="Ask the policy engine (one request or a batch)",
)
def post_decisions(
    raw: Any = Body(
        ...,
        description='One request (DecisionRequestIn), or a batch {"requests": [...]} (BatchIn).',
    ),
    caller: Caller = Depends(get_caller),
    decisions: DecisionService = Depends(get_decisions),
) -> DecisionOut | BatchOut:
    now = decisions.clock()
    body = _parse(raw)
    if isinstance(body, BatchIn):
        requests = [
            _request(caller, r, decisions, now, f"requests.{i}.")
            for i, r in enumerate(body.requests)
        ]
        answers = decisions.decide_asked(requests)
        return BatchOut(decisions=[DecisionOut.of(d) for d in answers])
    (answer,) = decisions.decide_asked([_request(caller, body, decisions, now)])
    return DecisionOut.of(answer)
