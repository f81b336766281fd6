"""Retention dates (SPEC P4, L1): when data of a category, collected for some purposes, expires.

Pure: the anchor moments (collection time, contract end, vehicle end of life, ...) are passed in.

Rules, from the notice:
- a rule for (category, purpose) wins over a rule for the category alone (``purpose: None``);
- several rules for the same pair: the longest counts;
- vehicle data of section B is kept 4 weeks unless a rule says longer (``SECTION_B_MINIMUM``);
- data used for several purposes expires when the LAST purpose ends (the latest date);
- a rule anchored on an event that has not happened yet (the vehicle's end of life, the contract's
  end) gives no date (``None``): the data is held until that event is known;
- "as long as the purpose needs" (anchor ``purpose_end``) gives a date only when the caller knows
  the purpose's end; otherwise it does not extend the dated rules: when they run out the retention
  job deletes or anonymises (the rule's ``action``) and the purpose continues on what remains;
- nothing dated at all: ``None``.

Periods are calendar arithmetic: months and years keep the day of month, clamped to the month's
last day (31 January + 1 month = 28/29 February); weeks and days are added afterwards.

The retention job asks the inverse question: which anchors have expired by ``now``?
:func:`expired_anchors` answers with a few closed intervals of anchors (:class:`ExpiredAnchors`),
so that "expired" is a range condition a database evaluates on an index. Because clamping maps
several days onto one (29, 30 and 31 January + 1 month all give the last day of February, at
each one's own time of day), the answer is not simply ``now`` minus the period; the tests check
it against the forward function, at month ends and leap days.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar

from carprivacy.domain.policy import Policy, RetentionAnchor, RetentionRule

SECTION_B_MINIMUM = timedelta(weeks=4)
# "as long as needed": no date of its own, does not hold data past the dated rules
_UNDATED = (RetentionAnchor.PURPOSE_END, RetentionAnchor.COLLECTED)

_D = TypeVar("_D", date, datetime)


def add_months(moment: _D, months: int) -> _D:
    """``moment`` plus whole calendar months, the day clamped to the target month's last day."""
    total = moment.year * 12 + (moment.month - 1) + months
    year, month0 = divmod(total, 12)
    if not 1 <= year <= 9999:
        raise OverflowError("date out of range")
    day = min(moment.day, calendar.monthrange(year, month0 + 1)[1])
    return moment.replace(year=year, month=month0 + 1, day=day)


def add_period(moment: _D, *, years: int = 0, months: int = 0, weeks: int = 0, days: int = 0) -> _D:
    return add_months(moment, years * 12 + months) + timedelta(weeks=weeks, days=days)


@dataclass(frozen=True)
class ExpiredAnchors:
    """The anchors whose period has run out by a moment: a union of closed intervals, the first
    open to the past (``start`` None), the others a part of one day each.

    Not one cutoff, because months clamp: at 12:00 on 28 February 2025, an anchor at 12:00 on
    29 February 2024 has expired (+1 year = 28 February 12:00), one at 12:00:01 on 28 February
    2024 has not (+1 year = 28 February 12:00:01). Periods keep the time of day, so of the days
    that land on the moment's date only the part up to its time of day has expired."""

    intervals: tuple[tuple[datetime | None, datetime], ...]

    def __contains__(self, anchor: datetime) -> bool:
        return any((lo is None or lo <= anchor) and anchor <= hi for lo, hi in self.intervals)

    @property
    def latest(self) -> datetime:
        """The latest expired anchor (the earliest moment when nothing has expired)."""
        return max((hi for _lo, hi in self.intervals), default=datetime.min.replace(tzinfo=UTC))

    def latest_date(self) -> date:
        """The last date whose first moment has expired (every earlier date's has too)."""
        return self.latest.date()

    def intersect(self, other: ExpiredAnchors) -> ExpiredAnchors:
        """Anchors expired under both (data that must wait for two rules)."""
        found: list[tuple[datetime | None, datetime]] = []
        for a_lo, a_hi in self.intervals:
            for b_lo, b_hi in other.intervals:
                lo = b_lo if a_lo is None else a_lo if b_lo is None else max(a_lo, b_lo)
                hi = min(a_hi, b_hi)
                if lo is None or lo <= hi:
                    found.append((lo, hi))
        found.sort(key=lambda i: (i[0] is not None, i[0] or i[1], i[1]))
        return ExpiredAnchors(tuple(found))


def expired_anchors(
    now: datetime, *, years: int = 0, months: int = 0, weeks: int = 0, days: int = 0
) -> ExpiredAnchors:
    """Every anchor ``t`` with ``add_period(t, ...) <= now``, exactly (same time zone as
    ``now``, microsecond resolution)."""
    bound = now - timedelta(weeks=weeks, days=days)  # add_months(t, total) <= bound
    total = years * 12 + months
    if total == 0:
        return ExpiredAnchors(((None, bound),))
    target = bound.date()
    base = add_months(target, -total)  # lands on or before the target date
    days_around = [base + timedelta(days=k) for k in range(-3, 5)]
    landing = [d for d in days_around if add_months(d, total) == target]
    tz = bound.tzinfo
    if not landing:  # no day lands on the target date: whole days up to the last before it
        last = max(d for d in days_around if add_months(d, total) < target)
        return ExpiredAnchors(((None, datetime.combine(last, time.max, tz)),))
    at = bound.timetz()
    first = (None, datetime.combine(landing[0], at))
    rest = tuple((datetime.combine(d, time(), tz), datetime.combine(d, at)) for d in landing[1:])
    return ExpiredAnchors((first, *rest))


def rule_expired_anchors(rule: RetentionRule, now: datetime) -> ExpiredAnchors:
    """:func:`expired_anchors` of a dated rule."""
    return expired_anchors(
        now, years=rule.years, months=rule.months, weeks=rule.weeks, days=rule.days
    )


def rule_expiry(
    rule: RetentionRule, anchors: Mapping[RetentionAnchor, datetime | None]
) -> datetime | None:
    """When data under ``rule`` expires; None when open-ended or the anchor is not known yet."""
    anchor = anchors.get(rule.anchor)
    if anchor is None or (rule.is_open_ended and rule.anchor is RetentionAnchor.COLLECTED):
        return None  # event not known yet, or "as long as needed" counted from collection
    return add_period(
        anchor, years=rule.years, months=rule.months, weeks=rule.weeks, days=rule.days
    )


@dataclass(frozen=True)
class RetentionPlan:
    """Precomputed per category: which rules apply per purpose (built once, used per record)."""

    category: str
    per_purpose: tuple[tuple[str, tuple[RetentionRule, ...], bool], ...]  # purpose, rules, sect. B

    def expires_at(self, anchors: Mapping[RetentionAnchor, datetime | None]) -> datetime | None:
        collected = anchors.get(RetentionAnchor.COLLECTED)
        candidates: list[datetime] = []
        for _purpose, rules, section_b in self.per_purpose:
            for rule in rules:
                end = rule_expiry(rule, anchors)
                if end is not None:
                    candidates.append(end)
                elif rule.anchor not in _UNDATED:
                    return None  # held until an event not known yet (end of life, contract end)
            if section_b and collected is not None:
                candidates.append(collected + SECTION_B_MINIMUM)
        return max(candidates) if candidates else None

    def for_events(self, events: Mapping[RetentionAnchor, datetime | None]) -> ExpiryFunction:
        """``expires_at`` with every anchor but the collection time fixed: a function of the
        collection time alone, cheap enough to call per record (same results, see the tests)."""
        fixed: list[datetime] = []
        offsets: list[timedelta] = []
        calendar_rules: list[RetentionRule] = []
        for _purpose, rules, section_b in self.per_purpose:
            for rule in rules:
                if rule.anchor is RetentionAnchor.COLLECTED:
                    if rule.is_open_ended:
                        continue
                    if rule.years or rule.months:
                        calendar_rules.append(rule)
                    else:
                        offsets.append(timedelta(weeks=rule.weeks, days=rule.days))
                    continue
                end = rule_expiry(rule, events)
                if end is not None:
                    fixed.append(end)
                elif rule.anchor is not RetentionAnchor.PURPOSE_END:
                    return ExpiryFunction(held=True)
            if section_b:
                offsets.append(SECTION_B_MINIMUM)
        return ExpiryFunction(
            held=False,
            fixed=max(fixed) if fixed else None,
            offset=max(offsets) if offsets else None,
            calendar_rules=tuple(calendar_rules),
        )


@dataclass(frozen=True)
class ExpiryFunction:
    held: bool
    fixed: datetime | None = None
    offset: timedelta | None = None
    calendar_rules: tuple[RetentionRule, ...] = ()

    def __call__(self, collected: datetime) -> datetime | None:
        if self.held:
            return None
        best = self.fixed
        if self.offset is not None:
            end = collected + self.offset
            best = end if best is None or end > best else best
        for rule in self.calendar_rules:
            end = add_period(
                collected, years=rule.years, months=rule.months, weeks=rule.weeks, days=rule.days
            )
            best = end if best is None or end > best else best
        return best


def plan_for(policy: Policy, category: str, purposes: Iterable[str]) -> RetentionPlan:
    rules = policy.retention_rules_for(category)
    per_purpose = []
    for purpose_id in purposes:
        specific = tuple(r for r in rules if r.purpose == purpose_id)
        general = tuple(r for r in rules if r.purpose is None)
        purpose = policy.purposes_by_id.get(purpose_id)
        section_b = purpose is not None and purpose.section.upper().startswith("B")
        per_purpose.append((purpose_id, specific or general, section_b))
    if not per_purpose:
        general = tuple(r for r in rules if r.purpose is None)
        per_purpose.append(("", general, False))
    return RetentionPlan(category, tuple(per_purpose))


def expiry_for(
    policy: Policy,
    category: str,
    purposes: Iterable[str],
    anchors: Mapping[RetentionAnchor, datetime | None],
) -> datetime | None:
    """When data of ``category`` collected for ``purposes`` expires (None: no date yet)."""
    return plan_for(policy, category, purposes).expires_at(anchors)


@dataclass(frozen=True)
class StatedRule:
    """A retention line of the notice and the register."""

    rule: RetentionRule
    other_purposes: bool = False  # a general rule of a category that also has purpose rules


def stated_rules(rules: Iterable[RetentionRule]) -> list[StatedRule]:
    """One line per category and purpose, in the policy's order, as the notice and the register
    state them: each purpose's own rules; of a category's general rules, the dated or event
    ones when there are any (the terms the retention run applies: "as long as the purpose
    requires" beside "1 year after the contract ends" would be two lines that disagree), else
    the "as long as the purpose requires" one; a general line names the other purposes when
    the category also has rules of its own purposes."""
    rules = list(rules)
    own = {r.category for r in rules if r.purpose is not None}
    anchored = {
        r.category
        for r in rules
        if r.purpose is None and r.anchor is not RetentionAnchor.PURPOSE_END
    }
    stated = []
    for r in rules:
        if r.purpose is not None:
            stated.append(StatedRule(r))
        elif r.anchor is not RetentionAnchor.PURPOSE_END or r.category not in anchored:
            stated.append(StatedRule(r, other_purposes=r.category in own))
    return stated


def stated_for(rules: Iterable[RetentionRule], category: str, purpose: str) -> list[RetentionRule]:
    """The stated lines of ``category`` for ``purpose``: its own, else the general ones."""
    lines = [s.rule for s in stated_rules(rules) if s.rule.category == category]
    return [r for r in lines if r.purpose == purpose] or [r for r in lines if r.purpose is None]
