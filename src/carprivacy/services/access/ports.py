"""The ports of the access room (SPEC U1-U4): what the gate needs from the audit trail and master
data, and where automated decisions and their reviews are kept."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from carprivacy.domain.access import Decision, DecisionRequest
from carprivacy.domain.automated_decisions import AutomatedDecision, ReviewRequest
from carprivacy.domain.subject_state import ContractCover, FleetPeriod, UsagePeriod


class AuditRecorder(Protocol):
    """The audit trail port (services/audit/ports.py ``AuditTrail``)."""

    def record(self, request: DecisionRequest, decision: Decision) -> None: ...

    def record_many(self, pairs: Sequence[tuple[DecisionRequest, Decision]]) -> object: ...


class MasterFacts(Protocol):
    """What the engine needs of master data (owned by the master-data service)."""

    def contracts_of(self, subject_id: str) -> list[ContractCover]: ...

    def usage_of(self, vehicle_id: str) -> list[UsagePeriod]: ...

    def country_of(self, subject_id: str) -> str | None: ...

    def fleets_of(self, vehicle_id: str) -> list[FleetPeriod]: ...

    def is_known(self, subject_id: str) -> bool: ...


class AutomatedDecisionRepository(Protocol):
    def add(self, decision: AutomatedDecision) -> None: ...

    def get(self, decision_id: str) -> AutomatedDecision | None: ...

    def add_review(self, review: ReviewRequest) -> None: ...

    def save_review(self, review: ReviewRequest) -> None: ...

    def review(self, review_id: str) -> ReviewRequest | None: ...

    def reviews_of(self, decision_id: str) -> list[ReviewRequest]: ...
