"""Automated decisions about a person and their human review (SPEC U4; Art. 22 GDPR).

Recording and reading both go through the decision engine under the decision's purpose: the
recording system must be allowed to use the input categories for that purpose, and a reader must
name a purpose that allows reading them about that subject.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, status

from carprivacy.domain.access import Caller, Role
from carprivacy.domain.errors import AccessDeniedError
from carprivacy.domain.policy import Form
from carprivacy.entrypoints.api.auth import authorize, get_caller, get_purpose, require_role
from carprivacy.entrypoints.api.deps import get_automated_decisions, get_decisions
from carprivacy.entrypoints.api.schemas.access import (
    AutomatedDecisionIn,
    AutomatedDecisionOut,
    ReviewDecisionIn,
    ReviewOut,
    ReviewRequestIn,
)
from carprivacy.services.access.automated_decisions import AutomatedDecisionService
from carprivacy.services.access.decisions import DecisionService

router = APIRouter(tags=["automated decisions"])
recorder = require_role(Role.SERVICE, Role.PARTNER, Role.ADMINISTRATOR)
requester = require_role(Role.CUSTOMER, Role.CUSTOMER_SERVICE, Role.PRIVACY_OFFICER)


@router.post(
    "/v1/automated-decisions",
    status_code=status.HTTP_201_CREATED,
    response_model=AutomatedDecisionOut,
)
def record_automated_decision(
    body: AutomatedDecisionIn,
    caller: Caller = Depends(recorder),
    svc: AutomatedDecisionService = Depends(get_automated_decisions),
    decisions: DecisionService = Depends(get_decisions),
) -> AutomatedDecisionOut:
    categories = tuple(body.categories)
    svc.check(body.purpose, categories)
    authorize(decisions, caller, body.purpose, categories, subject_id=body.subject_id)
    decision = svc.record(
        caller,
        subject_id=body.subject_id,
        purpose=body.purpose,
        model=body.model,
        model_version=body.model_version,
        inputs=body.inputs,
        categories=categories,
        outcome=body.outcome,
        at=body.at,
    )
    return AutomatedDecisionOut.of(decision)


@router.get("/v1/automated-decisions/{decision_id}", response_model=AutomatedDecisionOut)
def read_automated_decision(
    decision_id: str,
    caller: Caller = Depends(get_caller),
    purpose: str = Depends(get_purpose),
    svc: AutomatedDecisionService = Depends(get_automated_decisions),
    decisions: DecisionService = Depends(get_decisions),
) -> AutomatedDecisionOut:
    decision = svc.get(decision_id)
    allowed = authorize(
        decisions, caller, purpose, decision.categories, subject_id=decision.subject_id
    )
    if allowed.form is not Form.IDENTIFIED:
        raise AccessDeniedError(
            "an automated decision about a person is released only in identified form",
            ("form.identified_only",),
        )
    return AutomatedDecisionOut.of(decision, svc.reviews(decision_id))


@router.post(
    "/v1/automated-decisions/{decision_id}/review-requests",
    status_code=status.HTTP_201_CREATED,
    response_model=ReviewOut,
)
def request_review(
    decision_id: str,
    body: ReviewRequestIn,
    caller: Caller = Depends(requester),
    svc: AutomatedDecisionService = Depends(get_automated_decisions),
) -> ReviewOut:
    return ReviewOut.of(svc.request_review(caller, decision_id, body.reason))


@router.post("/v1/review-requests/{review_id}/decision", response_model=ReviewOut)
def decide_review(
    review_id: str,
    body: ReviewDecisionIn,
    caller: Caller = Depends(get_caller),
    svc: AutomatedDecisionService = Depends(get_automated_decisions),
) -> ReviewOut:
    review = svc.decide_review(caller, review_id, body.outcome, body.note, body.new_outcome)
    return ReviewOut.of(review)
