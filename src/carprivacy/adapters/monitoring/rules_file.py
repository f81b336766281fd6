"""Monitoring rules from a YAML file (CARPRIVACY_MONITORING_RULES_FILE), e.g.::

    thresholds: {dealer: 40, customer_service: 80}   # distinct subjects per caller and hour
    default_subjects_per_hour: 100
    burst: {count: 10, window_seconds: 300}          # denied decisions
    working_hours:
      default: {start: "07:00", end: "19:00", weekdays: [mon, tue, wed, thu, fri],
                timezone: Europe/Amsterdam}
      organisations:
        workshops: {start: "06:00", end: "22:00", weekdays: [mon, tue, wed, thu, fri, sat]}
        authorities: always
      roles:
        customer: always

Every problem is reported with its path (InvalidInputError).
"""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from carprivacy.domain.errors import InvalidInputError, Problem
from carprivacy.domain.monitoring import (
    DEFAULT_ROLE_HOURS,
    DEFAULT_THRESHOLDS,
    MonitoringRules,
    WorkingHours,
)

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _time(value: Any, path: str, problems: list[Problem]) -> time | None:
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        problems.append(Problem(path, "time", "HH:MM"))
        return None


def _hours(value: Any, path: str, problems: list[Problem]) -> WorkingHours | None:
    if value == "always" or value is None:
        return None
    if not isinstance(value, dict):
        problems.append(Problem(path, "type", 'a mapping or "always"'))
        return None
    unknown = set(value) - {"start", "end", "weekdays", "timezone"}
    problems += [Problem(f"{path}.{k}", "unknown", "not a setting") for k in sorted(unknown)]
    base = WorkingHours()
    start_v = _time(value.get("start", "07:00"), f"{path}.start", problems)
    end_v = _time(value.get("end", "19:00"), f"{path}.end", problems)
    if start_v is not None and end_v is not None and start_v >= end_v:
        problems.append(Problem(f"{path}.end", "after_start", "must be after start"))
    start, end = start_v or base.start, end_v or base.end
    days = value.get("weekdays", list(DAYS[:5]))
    bad = [d for d in days if d not in DAYS] if isinstance(days, list) else [days]
    if bad:
        problems.append(Problem(f"{path}.weekdays", "one_of", ", ".join(DAYS)))
    tz = str(value.get("timezone", base.timezone))
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(Problem(f"{path}.timezone", "timezone", "an IANA time zone"))
    weekdays = frozenset(DAYS.index(d) for d in days if d in DAYS) if not bad else base.weekdays
    return WorkingHours(start, end, weekdays, tz)


def _count(value: Any, path: str, problems: list[Problem]) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        problems.append(Problem(path, "positive_int", "a whole number of at least 1"))
        return 1
    return value


def parse_rules(data: Any) -> MonitoringRules:
    problems: list[Problem] = []
    if data is None:
        return MonitoringRules()
    if not isinstance(data, dict):
        raise InvalidInputError([Problem("", "type", "a mapping")])
    unknown = set(data) - {"thresholds", "default_subjects_per_hour", "burst", "working_hours"}
    problems += [Problem(k, "unknown", "not a setting") for k in sorted(unknown)]
    thresholds = dict(DEFAULT_THRESHOLDS)
    for role, n in (data.get("thresholds") or {}).items():
        thresholds[str(role)] = _count(n, f"thresholds.{role}", problems)
    default_n = _count(
        data.get("default_subjects_per_hour", 100), "default_subjects_per_hour", problems
    )
    burst = data.get("burst") or {}
    count = _count(burst.get("count", 10), "burst.count", problems)
    window = _count(burst.get("window_seconds", 300), "burst.window_seconds", problems)
    wh = data.get("working_hours") or {}
    default_hours = _hours(wh.get("default", {}), "working_hours.default", problems)
    orgs = {
        str(k): _hours(v, f"working_hours.organisations.{k}", problems)
        for k, v in (wh.get("organisations") or {}).items()
    }
    roles: dict[str, WorkingHours | None] = dict(DEFAULT_ROLE_HOURS)
    roles.update(
        {
            str(k): _hours(v, f"working_hours.roles.{k}", problems)
            for k, v in (wh.get("roles") or {}).items()
        }
    )
    if problems:
        raise InvalidInputError(problems)
    return MonitoringRules(
        thresholds=thresholds,
        default_subjects_per_hour=default_n,
        burst_count=count,
        burst_window=timedelta(seconds=window),
        default_hours=default_hours,
        organisation_hours=orgs,
        role_hours=roles,
    )


def load_rules(path: Path | None) -> MonitoringRules:
    if path is None:
        return MonitoringRules()
    return parse_rules(yaml.safe_load(path.read_text(encoding="utf-8")))
