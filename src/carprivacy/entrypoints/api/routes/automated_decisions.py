"""Automated decisions about a person and their human review (SPEC U4; Art. 22 GDPR).

Recording and reading both go through the decision engine under the decision's purpose: the
recording system must be allowed to use the input categories for that purpose, and a reader must
name a purpose that allows reading them about that subject.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, status

from carprivacy.domain.access import Caller, Role
from carprivacy.domain.policy import Form
from carprivacy.entrypoints.api.auth import get_caller, require_role
from carprivacy.entrypoints.api.deps import get_automated_decisions
from carprivacy.entrypoints.api.release import get_gate, get_reading
from carprivacy.entrypoints.api.schemas.access import (
    AutomatedDecisionIn,
    AutomatedDecisionOut,
    ReviewDecisionIn,
    ReviewOut,
    ReviewRequestIn,
)
from carprivacy.services.access.automated_decisions import AutomatedDecisionService
from carprivacy.services.access.gate import Gate, Reading

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
    gate: Gate[Any] = Depends(get_gate),
) -> AutomatedDecisionOut:
    categories = tuple(body.categories)
    svc.check(body.purpose, categories)
    reading = Reading(caller, body.purpose, "POST /v1/automated-decisions")
    gate.permit(reading, categories, subject_id=body.subject_id)
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
    reading: Reading = Depends(get_reading),
    svc: AutomatedDecisionService = Depends(get_automated_decisions),
    gate: Gate[Any] = Depends(get_gate),
) -> AutomatedDecisionOut:
    decision = svc.get(decision_id)
    categories = tuple(decision.categories)
    gate.permit(reading, categories, subject_id=decision.subject_id, form=Form.IDENTIFIED)
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
