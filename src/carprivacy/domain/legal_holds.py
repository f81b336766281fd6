"""Legal holds (SPEC L1, R3): a hold pauses retention for what it covers, for legal claims or an
authority's request, until it is released.

A hold covers a subject (every record about that customer), a vehicle (every record of it), or
both, optionally narrowed to one data category: a record set such as "the position data of this
vehicle". It names its reason and who placed it; a release names who released it and why. Both
stay on the record: a released hold is kept, it no longer pauses anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from carprivacy.domain.errors import InvalidInputError, Problem

MAX_REASON = 500
MAX_NAME = 120


@dataclass(frozen=True)
class LegalHold:
    id: str
    subject_id: str | None
    vehicle_id: str | None
    category: str | None  # None: every category of the subject or vehicle
    reason: str
    created_by: str
    created_at: datetime
    released_at: datetime | None = None
    released_by: str | None = None
    release_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.released_at is None

    def covers(self, subject_id: str | None, vehicle_id: str | None, category: str) -> bool:
        """Whether this hold, while active, pauses retention of such a record."""
        return (
            self.active
            and (self.subject_id is None or self.subject_id == subject_id)
            and (self.vehicle_id is None or self.vehicle_id == vehicle_id)
            and (self.category is None or self.category == category)
        )


def _text(problems: list[Problem], path: str, value: str | None, limit: int) -> None:
    if value is None or not value.strip():
        problems.append(Problem(path, "legal_hold.required", "must be a non-empty text"))
    elif len(value) > limit:
        problems.append(
            Problem(path, "legal_hold.max_length", f"must be at most {limit} characters")
        )


def check_hold(
    subject_id: str | None,
    vehicle_id: str | None,
    category: str | None,
    reason: str,
    created_by: str,
    categories: frozenset[str],
) -> None:
    """Refuse a hold that covers nobody, an unknown category, or has no reason or author
    (InvalidInputError naming the field and rule)."""
    problems: list[Problem] = []
    if not subject_id and not vehicle_id:
        problems.append(
            Problem(
                "subject_id",
                "legal_hold.scope",
                "a hold names a subject, a vehicle or both (Art. 17(3)(e) GDPR: the claims it "
                "serves are about someone)",
            )
        )
    if category is not None and category not in categories:
        problems.append(Problem("category", "legal_hold.category", "not a category of the policy"))
    _text(problems, "reason", reason, MAX_REASON)
    _text(problems, "created_by", created_by, MAX_NAME)
    if problems:
        raise InvalidInputError(problems)


def check_release(released_by: str, reason: str) -> None:
    problems: list[Problem] = []
    _text(problems, "released_by", released_by, MAX_NAME)
    _text(problems, "reason", reason, MAX_REASON)
    if problems:
        raise InvalidInputError(problems)
