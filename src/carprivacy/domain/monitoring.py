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

Standard library only; times come from the entries, never from a clock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
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


def parse_at(value: str) -> datetime:
    at = datetime.fromisoformat(value)
    if at.tzinfo is None:
        raise ValueError("audit times must carry a time zone")
    return at


@dataclass
class _CallerState:
    hour: datetime | None = None
    subjects: set[str] = field(default_factory=set)
    hour_alerted: bool = False
    denies: deque[datetime] = field(default_factory=deque)
    in_burst: bool = False  # alerted; quiet until a full window passes without a deny
    last_deny: datetime | None = None
    off_hours_day: str = ""


class Monitor:
    """Feeds audit entries through the rules; remembers only what the windows need."""

    def __init__(self, rules: MonitoringRules | None = None) -> None:
        self.rules = rules or MonitoringRules()
        self._state: dict[str, _CallerState] = {}

    def feed(self, entry: AuditEntry) -> list[Alert]:
        at = parse_at(entry.at)
        state = self._state.setdefault(entry.caller_id, _CallerState())
        alerts: list[Alert] = []
        if entry.outcome == "allow":
            alerts.extend(self._subjects(entry, at, state))
            alerts.extend(self._off_hours(entry, at, state))
        else:
            alerts.extend(self._denied(entry, at, state))
        return alerts

    def _subjects(self, entry: AuditEntry, at: datetime, state: _CallerState) -> list[Alert]:
        hour = at.replace(minute=0, second=0, microsecond=0)
        if state.hour != hour:
            state.hour, state.subjects, state.hour_alerted = hour, set(), False
        state.subjects.update(entry.subject_refs())  # a list read: every subject it names
        limit = self.rules.threshold(entry.role)
        if state.hour_alerted or len(state.subjects) <= limit:
            return []
        state.hour_alerted = True
        return [
            _alert(
                AlertRule.SUBJECTS_PER_HOUR,
                entry,
                at,
                hour,
                len(state.subjects),
                limit,
                f"read {len(state.subjects)} distinct subjects within the hour from "
                f"{hour.isoformat()} (threshold for role {entry.role}: {limit})",
            )
        ]

    def _denied(self, entry: AuditEntry, at: datetime, state: _CallerState) -> list[Alert]:
        window = self.rules.burst_window
        if state.in_burst and state.last_deny is not None and at - state.last_deny > window:
            state.in_burst = False  # the burst ended: a later one is a new burst
        state.last_deny = at
        if state.in_burst:
            return []  # one burst, one alert
        state.denies.append(at)
        while state.denies and at - state.denies[0] > window:
            state.denies.popleft()
        if len(state.denies) < self.rules.burst_count:
            return []
        state.in_burst = True
        start = state.denies[0]
        count = len(state.denies)
        state.denies.clear()
        return [
            _alert(
                AlertRule.DENIED_BURST,
                entry,
                at,
                start,
                count,
                self.rules.burst_count,
                f"{count} denied decisions within {int(window.total_seconds())} s",
            )
        ]

    def _off_hours(self, entry: AuditEntry, at: datetime, state: _CallerState) -> list[Alert]:
        hours = self.rules.hours_for(entry.organisation, entry.role)
        if hours is None or hours.covers(at):
            return []
        day = at.astimezone(ZoneInfo(hours.timezone)).date().isoformat()
        if state.off_hours_day == day:
            return []
        state.off_hours_day = day
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
