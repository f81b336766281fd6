"""In-memory fake of the automated-decision repository."""

from __future__ import annotations

from dataclasses import dataclass, field

from carprivacy.domain.automated_decisions import AutomatedDecision, ReviewRequest


@dataclass
class InMemoryAutomatedDecisionRepository:
    decisions: dict[str, AutomatedDecision] = field(default_factory=dict)
    reviews: dict[str, ReviewRequest] = field(default_factory=dict)

    def add(self, decision: AutomatedDecision) -> None:
        self.decisions[decision.id] = decision

    def get(self, decision_id: str) -> AutomatedDecision | None:
        return self.decisions.get(decision_id)

    def add_review(self, review: ReviewRequest) -> None:
        self.reviews[review.id] = review

    def save_review(self, review: ReviewRequest) -> None:
        self.reviews[review.id] = review

    def review(self, review_id: str) -> ReviewRequest | None:
        return self.reviews.get(review_id)

    def reviews_of(self, decision_id: str) -> list[ReviewRequest]:
        found = [r for r in self.reviews.values() if r.decision_id == decision_id]
        return sorted(found, key=lambda r: r.requested_at)
