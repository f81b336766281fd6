"""Automated decisions about a person (SPEC U4; Art. 22 GDPR): recorded with their inputs, and
reviewable by a human on request.

A model or rule that decides something about a person (a usage-based insurance score, a credit
check for financing, a fraud flag) records an :class:`AutomatedDecision`. The person (or staff on
their behalf) can ask for human review; a reviewer, who must be a person and not the caller that
recorded the decision, records the outcome. Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from carprivacy.domain.errors import ConflictError, InvalidInputError, Problem

ARTICLE = "Art. 22(3) GDPR"


@dataclass(frozen=True)
class AutomatedDecision:
    id: str
    subject_id: str
    purpose: str
    model: str  # the model or rule set, e.g. "ubi-score"
    model_version: str
    inputs: dict[str, str]  # what the model looked at (names and values as given)
    categories: tuple[str, ...]  # the policy data categories the inputs come from
    outcome: str
    at: datetime
    recorded_by: str  # caller id


class ReviewStatus(StrEnum):
    OPEN = "open"
    DECIDED = "decided"


class ReviewOutcome(StrEnum):
    UPHELD = "upheld"  # the reviewer confirms the automated outcome
    CHANGED = "changed"  # the reviewer replaces it
    ANNULLED = "annulled"  # the automated decision no longer applies


@dataclass(frozen=True)
class ReviewRequest:
    id: str
    decision_id: str
    requested_by: str  # caller id
    requested_at: datetime
    reason: str
    status: ReviewStatus = ReviewStatus.OPEN
    reviewer: str | None = None
    outcome: ReviewOutcome | None = None
    new_outcome: str | None = None
    note: str | None = None
    reviewed_at: datetime | None = None


def _required(value: str, path: str, problems: list[Problem], max_len: int = 200) -> None:
    if not value.strip():
        problems.append(Problem(path, "required", "must not be empty"))
    elif len(value) > max_len:
        problems.append(Problem(path, "max_length", f"at most {max_len} characters"))


def validate_decision(decision: AutomatedDecision) -> None:
    problems: list[Problem] = []
    for name in ("subject_id", "purpose", "model", "model_version", "recorded_by"):
        _required(getattr(decision, name), name, problems)
    _required(decision.outcome, "outcome", problems, 2000)
    if not decision.categories:
        problems.append(Problem("categories", "required", "name the data categories used"))
    if not decision.inputs:
        problems.append(Problem("inputs", "required", "record the inputs the decision used"))
    if decision.at.tzinfo is None:
        problems.append(Problem("at", "timezone", "must carry a time zone"))
    if problems:
        raise InvalidInputError(problems)


def record_review(
    request: ReviewRequest,
    decision: AutomatedDecision,
    *,
    reviewer: str,
    reviewer_is_person: bool,
    outcome: ReviewOutcome,
    note: str,
    at: datetime,
    new_outcome: str | None = None,
) -> ReviewRequest:
    """A human decides. Raises when the review is not a human one or is already decided."""
    if request.status is ReviewStatus.DECIDED:
        raise ConflictError(f"review {request.id} is already decided ({ARTICLE})")
    problems: list[Problem] = []
    if not reviewer_is_person:
        problems.append(Problem("reviewer", "human_review", f"{ARTICLE}: a person must review"))
    if reviewer == decision.recorded_by:
        problems.append(
            Problem("reviewer", "independent", "the caller that recorded it cannot review it")
        )
    _required(note, "note", problems, 4000)
    if outcome is ReviewOutcome.CHANGED and not (new_outcome or "").strip():
        problems.append(Problem("new_outcome", "required", "a changed outcome needs the new one"))
    if problems:
        raise InvalidInputError(problems)
    return replace(
        request,
        status=ReviewStatus.DECIDED,
        reviewer=reviewer,
        outcome=outcome,
        new_outcome=new_outcome if outcome is ReviewOutcome.CHANGED else None,
        note=note,
        reviewed_at=at,
    )
