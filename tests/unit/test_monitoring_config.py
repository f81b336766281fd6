"""Monitoring thresholds and working hours per organisation and role from YAML."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
import yaml

from carprivacy.adapters.monitoring.rules_file import load_rules, parse_rules
from carprivacy.domain.errors import InvalidInputError

EXAMPLE = """
thresholds: {dealer: 40}
burst: {count: 4, window_seconds: 60}
working_hours:
  default: {start: "08:00", end: "18:00", weekdays: [mon, tue, wed, thu, fri]}
  organisations:
    workshops: {start: "06:00", end: "22:00", weekdays: [mon, tue, wed, thu, fri, sat]}
    authorities: always
  roles:
    privacy_officer: always
"""


def test_a_rules_file_configures_thresholds_bursts_and_hours(tmp_path: Path) -> None:
    path = tmp_path / "monitoring.yaml"
    path.write_text(EXAMPLE, encoding="utf-8")
    rules = load_rules(path)
    assert rules.threshold("dealer") == 40 and rules.threshold("customer_service") == 60
    assert (rules.burst_count, rules.burst_window) == (4, timedelta(minutes=1))
    saturday_night = datetime(2026, 11, 28, 20, 0, tzinfo=UTC)  # 21:00 in Amsterdam
    workshop = rules.hours_for("workshops", "dealer")
    assert workshop is not None and workshop.covers(saturday_night)
    assert rules.hours_for("authorities", "authority_liaison") is None
    assert rules.hours_for("mini_nl", "privacy_officer") is None
    assert rules.hours_for("mini_nl", "customer") is None  # built-in: customers any time
    default = rules.hours_for("dealers", "dealer")
    assert default is not None and default.start == time(8)
    assert load_rules(None) == parse_rules(None)


def test_every_problem_is_named_with_its_path() -> None:
    bad = yaml.safe_load("""
thresholds: {dealer: -1}
burst: {count: "x"}
colour: blue
working_hours:
  default: {start: "25:00", end: "07:00", weekdays: [mon, funday], timezone: Mars/Olympus}
""")
    with pytest.raises(InvalidInputError) as e:
        parse_rules(bad)
    paths = {p.path for p in e.value.problems}
    assert paths == {
        "thresholds.dealer",
        "burst.count",
        "colour",
        "working_hours.default.start",
        "working_hours.default.weekdays",
        "working_hours.default.timezone",
    }
