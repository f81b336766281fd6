"""Continuous monitoring of access (SPEC U3): unusual access becomes an Alert.

Rules, fed with audit entries in order (a :class:`Monitor` keeps the sliding state):

- ``subjects_per_hour``: one caller reads more distinct subjects in a clock hour than its role's
  threshold (one alert per caller and hour); a list read is one entry naming its N subjects and
  counts N subjects;
- ``denied_burst``: a caller gets ``burst_count`` or more denied entries within
  ``burst_window`` (one alert per burst: after an alert, denies count again only once a whole
  window passed without one);
- ``off_hours``: a caller reads personal data outside the working hours of its organisation (or of
  its role, which takes precedence), in the organisation's time zone (one alert per caller and day).

The windows a rule needs (a caller's hour, denies, burst, off-hours day) are a
:class:`CallerWindow`, the distinct subjects of an hour a :data:`SubjectCount`: :func:`feed` works
on either kept in memory (:class:`Monitor`, a scan) or in the database (live monitoring, shared by
every process that serves requests).

Standard library only; times come from the entries, never from a clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from carprivacy.domain.audit import AuditEntry


class AlertRule(StrEnum):
    SUBJECTS_PER_HOUR = "subjects_per_hour"
    DENIED_BURST = "denied_burst"
    OFF_HOURS = "off_hours"


@dataclass(frozen=True)
class WorkingHours:
    """Days (0 = Monday) and hours in a time zone when an organisation's staff work."""

    start: time = time(7, 0)
    end: time = time(19, 0)
    weekdays: frozenset[int] = frozenset(range(5))
    timezone: str = "Europe/Amsterdam"

    def covers(self, at: datetime) -> bool:
        local = at.astimezone(ZoneInfo(self.timezone))
        return local.weekday() in self.weekdays and self.start <= local.time() < self.end


ALWAYS = None  # a role or organisation without working hours may read at any time

# Distinct subjects a caller of a role may read per hour before an alert. Roles not listed use
# ``default_subjects_per_hour``; customers read only themselves.
DEFAULT_THRESHOLDS: Mapping[str, int] = {
    "customer_service": 60,
    "privacy_officer": 200,
    "rnd_analyst": 500,
    "dealer": 40,
    "fleet_manager": 300,
    "authority_liaison": 20,
    "administrator": 50,
    "customer": 3,
    "partner": 1000,
    "service": 100_000,
}

# Roles that are machines or the subjects themselves have no working hours.
DEFAULT_ROLE_HOURS: Mapping[str, WorkingHours | None] = {
    "customer": ALWAYS,
    "partner": ALWAYS,
    "service": ALWAYS,
    "vehicle": ALWAYS,
}


@dataclass(frozen=True)
class MonitoringRules:
    thresholds: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))
    default_subjects_per_hour: int = 100
    burst_count: int = 10
    burst_window: timedelta = timedelta(minutes=5)
    default_hours: WorkingHours | None = field(default_factory=WorkingHours)
    organisation_hours: Mapping[str, WorkingHours | None] = field(default_factory=dict)
    role_hours: Mapping[str, WorkingHours | None] = field(
        default_factory=lambda: dict(DEFAULT_ROLE_HOURS)
    )

    def threshold(self, role: str) -> int:
        return self.thresholds.get(role, self.default_subjects_per_hour)

    def hours_for(self, organisation: str, role: str) -> WorkingHours | None:
        if role in self.role_hours:
            return self.role_hours[role]
        if organisation in self.organisation_hours:
            return self.organisation_hours[organisation]
        return self.default_hours


@dataclass(frozen=True)
class Acknowledgement:
    """A staff member looked at an alert: who, when, and what they found (append-only)."""

    alert_id: str
    by: str  # the caller id
    at: datetime
    note: str


@dataclass(frozen=True)
class Alert:
    """Unusual access. ``id`` is stable, so that the same alert raised twice is stored once."""

    id: str
    rule: AlertRule
    caller_id: str
    organisation: str
    role: str
    at: datetime  # the entry that raised it
    window_start: datetime
    count: int
    threshold: int
    entry_seq: int
    message: str  # no personal data: counts, rule and caller id only
    acknowledgements: tuple[Acknowledgement, ...] = ()  # oldest first

    @property
    def acknowledged(self) -> bool:
        return bool(self.acknowledgements)


def parse_at(value: str) -> datetime:
    at = datetime.fromisoformat(value)
    if at.tzinfo is None:
        raise ValueError("audit times must carry a time zone")
    return at


@dataclass
class CallerWindow:
    """What the rules remember of one caller between entries (the distinct subjects of the
    current hour are counted apart, by a :data:`SubjectCount`). Kept wherever the monitor runs:
    in memory for a scan, in the database for live monitoring shared by every process."""

    hour: datetime | None = None
    hour_alerted: bool = False
    denies: list[datetime] = field(default_factory=list)  # within the burst window, oldest first
    in_burst: bool = False  # alerted; quiet until a full window passes without a deny
    last_deny: datetime | None = None
    off_hours_day: str = ""


# Adds subject refs to a caller's count of an hour; returns the distinct subjects of that hour.
SubjectCount = Callable[[datetime, Sequence[str]], int]


def feed(
    rules: MonitoringRules, entry: AuditEntry, window: CallerWindow, count: SubjectCount
) -> list[Alert]:
    """The alerts one entry raises for its caller, given (and updating) the caller's window."""
    at = parse_at(entry.at)
    if entry.outcome == "allow":
        return [*_subjects(rules, entry, at, window, count), *_off_hours(rules, entry, at, window)]
    return _denied(rules, entry, at, window)


class Monitor:
    """Feeds audit entries through the rules, its windows in memory (a scan of the log)."""

    def __init__(self, rules: MonitoringRules | None = None) -> None:
        self.rules = rules or MonitoringRules()
        self._windows: dict[str, CallerWindow] = {}
        self._subjects: dict[str, tuple[datetime, set[str]]] = {}

    def feed(self, entry: AuditEntry) -> list[Alert]:
        window = self._windows.setdefault(entry.caller_id, CallerWindow())

        def count(hour: datetime, refs: Sequence[str]) -> int:
            held = self._subjects.get(entry.caller_id)
            if held is None or held[0] != hour:
                held = self._subjects[entry.caller_id] = (hour, set())
            held[1].update(refs)
            return len(held[1])

        return feed(self.rules, entry, window, count)


def _subjects(
    rules: MonitoringRules,
    entry: AuditEntry,
    at: datetime,
    window: CallerWindow,
    count: SubjectCount,
) -> list[Alert]:
    hour = at.replace(minute=0, second=0, microsecond=0)
    if window.hour != hour:
        window.hour, window.hour_alerted = hour, False
    refs = entry.subject_refs()  # a list read: every subject it names
    if window.hour_alerted or not refs:
        return []  # one alert per hour; an entry about no subject adds none
    n = count(hour, refs)
    limit = rules.threshold(entry.role)
    if n <= limit:
        return []
    window.hour_alerted = True
    return [
        _alert(
            AlertRule.SUBJECTS_PER_HOUR,
            entry,
            at,
            hour,
            n,
            limit,
            f"read {n} distinct subjects within the hour from "
            f"{hour.isoformat()} (threshold for role {entry.role}: {limit})",
        )
    ]


def _denied(
    rules: MonitoringRules, entry: AuditEntry, at: datetime, window: CallerWindow
) -> list[Alert]:
    span = rules.burst_window
    if window.in_burst and window.last_deny is not None and at - window.last_deny > span:
        window.in_burst = False  # the burst ended: a later one is a new burst
    window.last_deny = at
    if window.in_burst:
        return []  # one burst, one alert
    window.denies = [d for d in window.denies if at - d <= span] + [at]
    if len(window.denies) < rules.burst_count:
        return []
    window.in_burst = True
    start, n = window.denies[0], len(window.denies)
    window.denies = []
    return [
        _alert(
            AlertRule.DENIED_BURST,
            entry,
            at,
            start,
            n,
            rules.burst_count,
            f"{n} denied decisions within {int(span.total_seconds())} s",
        )
    ]


def _off_hours(
    rules: MonitoringRules, entry: AuditEntry, at: datetime, window: CallerWindow
) -> list[Alert]:
    hours = rules.hours_for(entry.organisation, entry.role)
    if hours is None or hours.covers(at):
        return []
    day = at.astimezone(ZoneInfo(hours.timezone)).date().isoformat()
    if window.off_hours_day == day:
        return []
    window.off_hours_day = day
    start = datetime.fromisoformat(day).replace(tzinfo=ZoneInfo(hours.timezone))
    return [
        _alert(
            AlertRule.OFF_HOURS,
            entry,
            at,
            start,
            1,
            0,
            f"read personal data at {at.isoformat()}, outside the working hours of "
            f"{entry.organisation} ({hours.start:%H:%M}-{hours.end:%H:%M} {hours.timezone})",
        )
    ]


def _alert(
    rule: AlertRule,
    entry: AuditEntry,
    at: datetime,
    window_start: datetime,
    count: int,
    threshold: int,
    message: str,
) -> Alert:
    ident = f"{rule.value}:{entry.caller_id}:{window_start.isoformat()}"
    return Alert(
        id=ident,
        rule=rule,
        caller_id=entry.caller_id,
        organisation=entry.organisation,
        role=entry.role,
        at=at,
        window_start=window_start,
        count=count,
        threshold=threshold,
        entry_seq=entry.seq,
        message=message,
    )


def evaluate(entries: Iterable[AuditEntry], rules: MonitoringRules | None = None) -> list[Alert]:
    """All alerts a sequence of entries raises (a fresh monitor)."""
    monitor = Monitor(rules)
    return [alert for entry in entries for alert in monitor.feed(entry)]
