"""When a data-subject request must be answered (SPEC R7; Art. 12(3) GDPR).

The rule, as this module computes it:

1. **Receipt date.** A request is received at an instant; its receipt date is that instant's
   calendar date in the controller's time zone, ``Europe/Amsterdam`` (the notice's controllers
   answer from the Netherlands): a request received at 23:30 UTC on 31 January is received on
   1 February (00:30 in Amsterdam).
2. **One calendar month.** The answer is due on the day of the following month with the receipt
   date's number, or on that month's last day when it has no such day: received 31 January, due
   28 February (29 in a leap year); received 30 April, due 30 May. This is the period of
   Regulation (EEC, Euratom) No 1182/71, Art. 3(1) and 3(2)(c): the day of receipt is not
   counted and the period ends with the last hour of that day. ``due_by`` is that end: the
   first instant of the next day in Amsterdam (exclusive), whatever the offset (CET or CEST).
   We do not move the date past a weekend or public holiday (Art. 3(4) of the Regulation would
   allow it): the deadline is never later than the law's.
3. **Extension.** Where necessary, by at most two further months in total (the policy's
   ``deadline.extension_months``), counted from the receipt date like the first month (received
   31 January, extended by two months: due 30 April, not 28 February + 2 months = 28 April),
   each with a recorded reason and who decided it, and told to the person within the first month:
   an extension told after the original due date is refused.
4. **Standing at a moment.** ``overdue`` from ``due_by`` on; ``nearly_due`` when less than the
   warning period (7 days unless told otherwise) remains; otherwise ``on_time``.

Pure: the moment (``now``) and the time zone are passed in; the zone defaults to the controller's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from functools import cache
from zoneinfo import ZoneInfo

from carprivacy.domain.errors import InvalidInputError, Problem
from carprivacy.domain.policy import DeadlineRule
from carprivacy.domain.retention import add_months

CONTROLLER_TIME_ZONE = "Europe/Amsterdam"
NEARLY_DUE = timedelta(days=7)
MAX_REASON = 1000
ARTICLE = "Art. 12(3) GDPR"


@cache
def controller_zone() -> tzinfo:
    """The controller's time zone, in which receipt dates and due dates are counted."""
    return ZoneInfo(CONTROLLER_TIME_ZONE)


class DeadlineStanding(StrEnum):
    ON_TIME = "on_time"
    NEARLY_DUE = "nearly_due"
    OVERDUE = "overdue"


@dataclass(frozen=True)
class Extension:
    """An extension of the period (Art. 12(3)): by how many months, why, who decided it, when the
    person was told."""

    months: int
    reason: str
    decided_by: str
    told_at: datetime


def _aware(path: str, value: datetime, problems: list[Problem]) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        problems.append(
            Problem(path, "deadline.time_zone", "must be a moment with its time zone (offset)")
        )


@dataclass(frozen=True)
class RequestDeadline:
    received_at: datetime
    receipt_date: date
    zone: tzinfo
    months: int = 1
    extension_limit: int = 2
    extensions: tuple[Extension, ...] = ()

    @property
    def extended_months(self) -> int:
        return sum(e.months for e in self.extensions)

    @property
    def original_due_date(self) -> date:
        return add_months(self.receipt_date, self.months)

    @property
    def due_date(self) -> date:
        """The last day on which the answer is on time."""
        return add_months(self.receipt_date, self.months + self.extended_months)

    @property
    def original_due_by(self) -> datetime:
        return _end_of(self.original_due_date, self.zone)

    @property
    def due_by(self) -> datetime:
        """The end of the due date in the controller's zone: the first instant it is late."""
        return _end_of(self.due_date, self.zone)

    def remaining(self, now: datetime) -> timedelta:
        """Time left at ``now`` (negative once overdue)."""
        return self.due_by - now.astimezone(UTC)

    def standing(self, now: datetime, nearly_due: timedelta = NEARLY_DUE) -> DeadlineStanding:
        problems: list[Problem] = []
        _aware("now", now, problems)
        if problems:
            raise InvalidInputError(problems)
        if now >= self.due_by:
            return DeadlineStanding.OVERDUE
        if self.remaining(now) <= nearly_due:
            return DeadlineStanding.NEARLY_DUE
        return DeadlineStanding.ON_TIME

    def extend(
        self, months: int, reason: str, *, decided_by: str, told_at: datetime, now: datetime
    ) -> RequestDeadline:
        """The deadline extended by ``months``; refused (InvalidInputError naming the field and
        the rule of Art. 12(3)) past two months in total, without a reason or author, or told
        to the person after the first month or in the future."""
        problems: list[Problem] = []
        _aware("told_at", told_at, problems)
        _aware("now", now, problems)
        if months < 1 or self.extended_months + months > self.extension_limit:
            problems.append(
                Problem(
                    "months",
                    "deadline.extension_months",
                    f"the period may be extended by at most {self.extension_limit} further "
                    f"months in total ({ARTICLE}); {self.extended_months} already taken",
                )
            )
        if not reason or not reason.strip():
            problems.append(
                Problem(
                    "reason",
                    "deadline.extension_reason",
                    f"an extension needs its reason, told to the person ({ARTICLE})",
                )
            )
        elif len(reason) > MAX_REASON:
            problems.append(
                Problem("reason", "deadline.max_length", f"at most {MAX_REASON} characters")
            )
        if not decided_by or not decided_by.strip():
            problems.append(
                Problem("decided_by", "deadline.extension_author", "name who decided it")
            )
        if not problems:
            if told_at >= self.original_due_by:
                problems.append(
                    Problem(
                        "told_at",
                        "deadline.extension_late",
                        "the person must be told of an extension within one month of receipt "
                        f"({ARTICLE}); the first month ended at "
                        f"{self.original_due_by.isoformat()}",
                    )
                )
            elif told_at > now:
                problems.append(
                    Problem("told_at", "deadline.told_in_future", "not after the present moment")
                )
            elif told_at < self.received_at:
                problems.append(
                    Problem("told_at", "deadline.told_before_receipt", "not before the receipt")
                )
        if problems:
            raise InvalidInputError(problems)
        extension = Extension(months, reason.strip(), decided_by.strip(), told_at)
        return replace(self, extensions=(*self.extensions, extension))


def _end_of(day: date, zone: tzinfo) -> datetime:
    """The first instant of the next day in ``zone``, in UTC: arithmetic and comparisons on
    datetimes that share a ``ZoneInfo`` are wall-clock ones and would be off by an hour across a
    change of offset; in UTC they are exact."""
    return datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC)


def receipt_date(received_at: datetime, zone: tzinfo | None = None) -> date:
    """The calendar date of ``received_at`` in the controller's time zone."""
    return received_at.astimezone(zone or controller_zone()).date()


def deadline_for(
    received_at: datetime, rule: DeadlineRule | None = None, zone: tzinfo | None = None
) -> RequestDeadline:
    """The deadline of a request received at ``received_at`` (aware), under the policy's
    ``deadline`` (default: one month, extendable by two)."""
    problems: list[Problem] = []
    _aware("received_at", received_at, problems)
    if problems:
        raise InvalidInputError(problems)
    rule = rule or DeadlineRule()
    zone = zone or controller_zone()
    return RequestDeadline(
        received_at=received_at,
        receipt_date=receipt_date(received_at, zone),
        zone=zone,
        months=rule.months,
        extension_limit=rule.extension_months,
    )
