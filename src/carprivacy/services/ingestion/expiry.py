"""Expiry (SPEC P4, L1): when a stored value expires, and the refusal of a record that has
already expired when it is received.

A value's ``expires_at`` comes from the policy's retention rules for its category and collection
purposes (``domain.retention``), compiled per (category, vehicle end of life) into a function of
the collection time. A record whose expiry is not after its receipt (telemetry stamped 35 days
ago under a 4-week rule) would be stored only to be deleted by the next retention run: it is
refused with the rule ``retention.expired`` on its ``ts`` and kept in quarantine like every other
refused record. A value held until an event not known yet (``expires_at`` None) is not expired.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time

from carprivacy.domain.errors import Problem
from carprivacy.domain.policy import Policy, RetentionAnchor
from carprivacy.domain.retention import ExpiryFunction, RetentionPlan, plan_for
from carprivacy.domain.telemetry import collection_purposes

EXPIRED_RULE = "retention.expired"
EXPIRED_MESSAGE = (
    "the record's retention period ended before it was received; nothing of it is stored"
)


def expired_problem(at: int) -> Problem:
    """The refusal of a record already past its retention: its ``expires_at`` is not None and
    not after its receipt (``at``: the record's index as its sender numbered it)."""
    return Problem(f"records[{at}].ts", EXPIRED_RULE, EXPIRED_MESSAGE)


class Expiries:
    """The retention plan of every category, and its expiry functions per vehicle end of life."""

    def __init__(self, policy: Policy, categories: Iterable[str]) -> None:
        self._plans: dict[str, RetentionPlan] = {
            c: plan_for(policy, c, collection_purposes(policy, c)) for c in categories
        }
        self._functions: dict[tuple[str, date | None], ExpiryFunction] = {}

    def expires_at(self, category: str, end_of_life: date | None, ts: datetime) -> datetime | None:
        key = (category, end_of_life)
        expiry = self._functions.get(key)
        if expiry is None:
            events: dict[RetentionAnchor, datetime | None] = {}
            if end_of_life is not None:
                events[RetentionAnchor.VEHICLE_END_OF_LIFE] = datetime.combine(
                    end_of_life, time(), UTC
                )
            expiry = self._plans[category].for_events(events)
            if len(self._functions) < 10_000:
                self._functions[key] = expiry
        return expiry(ts)
