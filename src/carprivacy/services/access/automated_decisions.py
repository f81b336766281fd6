"""Automated decisions and their human review (SPEC U4; Art. 22 GDPR)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime

from carprivacy.domain.access import Caller, CallerKind, Role
from carprivacy.domain.automated_decisions import (
    AutomatedDecision,
    ReviewOutcome,
    ReviewRequest,
    record_review,
    validate_decision,
)
from carprivacy.domain.errors import AccessDeniedError, InvalidInputError, NotFoundError, Problem
from carprivacy.services.access.ports import AutomatedDecisionRepository

# Who may review: staff people; never a machine (validated again in the domain).
REVIEWER_ROLES = frozenset({Role.CUSTOMER_SERVICE, Role.PRIVACY_OFFICER, Role.ADMINISTRATOR})


class AutomatedDecisionService:
    def __init__(
        self,
        repository: AutomatedDecisionRepository,
        clock: Callable[[], datetime],
        *,
        purposes: frozenset[str] = frozenset(),
        categories: frozenset[str] = frozenset(),
    ) -> None:
        self.repository = repository
        self.clock = clock
        self.purposes = purposes  # the policy's ids; empty: not checked
        self.categories = categories

    def record(
        self,
        caller: Caller,
        *,
        subject_id: str,
        purpose: str,
        model: str,
        model_version: str,
        inputs: dict[str, str],
        categories: tuple[str, ...],
        outcome: str,
        at: datetime | None = None,
    ) -> AutomatedDecision:
        decision = AutomatedDecision(
            id=f"ad_{secrets.token_hex(8)}",
            subject_id=subject_id,
            purpose=purpose,
            model=model,
            model_version=model_version,
            inputs=dict(inputs),
            categories=tuple(categories),
            outcome=outcome,
            at=at or self.clock(),
            recorded_by=caller.id,
        )
        validate_decision(decision)
        self.check(purpose, decision.categories)
        self.repository.add(decision)
        return decision

    def check(self, purpose: str, categories: tuple[str, ...]) -> None:
        """Purpose and categories must be the policy's."""
        problems: list[Problem] = []
        if self.purposes and purpose not in self.purposes:
            problems.append(Problem("purpose", "unknown", "not a purpose of the policy"))
        if self.categories:
            problems += [
                Problem(f"categories[{i}]", "unknown", "not a category of the policy")
                for i, c in enumerate(categories)
                if c not in self.categories
            ]
        if problems:
            raise InvalidInputError(problems)

    def get(self, decision_id: str) -> AutomatedDecision:
        decision = self.repository.get(decision_id)
        if decision is None:
            raise NotFoundError("automated decision", decision_id)
        return decision

    def reviews(self, decision_id: str) -> list[ReviewRequest]:
        self.get(decision_id)
        return self.repository.reviews_of(decision_id)

    def request_review(self, caller: Caller, decision_id: str, reason: str) -> ReviewRequest:
        """The person concerned, or staff on their behalf, asks for a human to look again."""
        decision = self.get(decision_id)
        if caller.role is Role.CUSTOMER and caller.subject_id != decision.subject_id:
            raise AccessDeniedError("only the person concerned can ask", ("review.own_decision",))
        if not reason.strip() or len(reason) > 4000:
            raise InvalidInputError([Problem("reason", "required", "1 to 4000 characters")])
        review = ReviewRequest(
            id=f"rr_{secrets.token_hex(8)}",
            decision_id=decision.id,
            requested_by=caller.id,
            requested_at=self.clock(),
            reason=reason,
        )
        self.repository.add_review(review)
        return review

    def decide_review(
        self,
        caller: Caller,
        review_id: str,
        outcome: str,
        note: str,
        new_outcome: str | None = None,
    ) -> ReviewRequest:
        review = self.repository.review(review_id)
        if review is None:
            raise NotFoundError("review request", review_id)
        if caller.role not in REVIEWER_ROLES:
            raise AccessDeniedError("this role does not review decisions", ("review.role",))
        try:
            outcome_v = ReviewOutcome(outcome)
        except ValueError:
            allowed = ", ".join(o.value for o in ReviewOutcome)
            raise InvalidInputError([Problem("outcome", "one_of", f"one of {allowed}")]) from None
        decided = record_review(
            review,
            self.get(review.decision_id),
            reviewer=caller.id,
            reviewer_is_person=caller.kind is CallerKind.PERSON,
            outcome=outcome_v,
            note=note,
            at=self.clock(),
            new_outcome=new_outcome,
        )
        self.repository.save_review(decided)
        return decided
