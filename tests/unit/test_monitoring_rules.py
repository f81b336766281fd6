"""Monitoring rules (SPEC U3): many subjects per hour, denied bursts, off hours."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from carprivacy.domain.audit import AuditRecord, seal_many
from carprivacy.domain.monitoring import AlertRule, MonitoringRules, WorkingHours, evaluate

# Wednesday 2026-11-25, 10:00 in Amsterdam (UTC+1): inside working hours
WORKDAY = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def record(
    at: datetime,
    caller: str = "p_1",
    subject: str = "s",
    outcome: str = "allow",
    role: str = "dealer",
    org: str = "dealers",
) -> AuditRecord:
    return AuditRecord(
        at.isoformat(timespec="microseconds"),
        caller,
        org,
        role,
        "after_sales",
        subject,
        "",
        "vehicle_status",
        outcome,
        "ok",
        "vehicle_linked",
    )


def test_more_distinct_subjects_than_the_role_threshold_raises_one_alert_per_hour() -> None:
    rules = MonitoringRules(thresholds={"dealer": 5})
    recs = [record(WORKDAY + timedelta(minutes=i), subject=f"s{i}") for i in range(9)]
    recs += [record(WORKDAY + timedelta(minutes=10), subject="s0")] * 3  # repeats don't count
    alerts = evaluate(seal_many(recs, None), rules)
    assert [(a.rule, a.count, a.threshold, a.entry_seq) for a in alerts] == [
        (AlertRule.SUBJECTS_PER_HOUR, 6, 5, 6)
    ]
    assert "s5" not in alerts[0].message  # no subject references in messages


def test_the_threshold_is_not_crossed_by_repeated_reads_of_the_same_subjects() -> None:
    rules = MonitoringRules(thresholds={"dealer": 5})
    recs = [record(WORKDAY + timedelta(seconds=i), subject=f"s{i % 5}") for i in range(200)]
    assert evaluate(seal_many(recs, None), rules) == []


def test_the_count_starts_again_each_hour_and_callers_are_counted_apart() -> None:
    rules = MonitoringRules(thresholds={"dealer": 3})
    recs = [record(WORKDAY + timedelta(minutes=20 * i), subject=f"s{i}") for i in range(6)]
    recs += [record(WORKDAY, caller=f"p_{i}", subject=f"x{i}") for i in range(10)]
    assert evaluate(seal_many(recs, None), rules) == []


def test_a_burst_of_denied_decisions_is_flagged() -> None:
    rules = MonitoringRules(burst_count=5, burst_window=timedelta(minutes=1))
    slow = [record(WORKDAY + timedelta(seconds=20 * i), outcome="deny") for i in range(4)]
    slow += [record(WORKDAY + timedelta(minutes=5 + i), outcome="deny") for i in range(10)]
    assert evaluate(seal_many(slow, None), rules) == []
    fast = [record(WORKDAY + timedelta(seconds=i), outcome="deny") for i in range(12)]
    alerts = evaluate(seal_many(fast, None), rules)
    assert [(a.rule, a.count) for a in alerts] == [(AlertRule.DENIED_BURST, 5)]


def test_one_burst_gives_one_alert_and_a_later_burst_another() -> None:
    """20 denies 50 ms apart raise one alert for the burst, not two."""
    rules = MonitoringRules(burst_count=10, burst_window=timedelta(minutes=5))
    burst = [record(WORKDAY + timedelta(milliseconds=50 * i), outcome="deny") for i in range(20)]
    # denies keep coming every 4 minutes: still the same burst
    trickle = [record(WORKDAY + timedelta(minutes=4 * i), outcome="deny") for i in range(1, 4)]
    later = WORKDAY + timedelta(hours=1)  # a quiet window, then a new burst
    again = [record(later + timedelta(seconds=i), outcome="deny") for i in range(10)]
    alerts = evaluate(seal_many(burst + trickle + again, None), rules)
    assert [(a.rule, a.entry_seq) for a in alerts] == [
        (AlertRule.DENIED_BURST, 10),
        (AlertRule.DENIED_BURST, 33),
    ]


def test_reads_outside_working_hours_are_flagged_once_per_day_in_local_time() -> None:
    night = datetime(2026, 11, 25, 22, 30, tzinfo=UTC)  # 23:30 in Amsterdam
    sunday = datetime(2026, 11, 29, 11, 0, tzinfo=UTC)
    recs = [record(WORKDAY), record(night), record(night + timedelta(minutes=5)), record(sunday)]
    alerts = evaluate(seal_many(recs, None))
    assert [(a.rule, a.entry_seq) for a in alerts] == [
        (AlertRule.OFF_HOURS, 2),
        (AlertRule.OFF_HOURS, 4),
    ]


def test_working_hours_are_configurable_per_organisation_and_role() -> None:
    night = datetime(2026, 11, 25, 22, 30, tzinfo=UTC)
    rules = MonitoringRules(
        organisation_hours={"workshops": WorkingHours(time(6), time(23, 59), frozenset(range(7)))},
        role_hours={"customer": None, "authority_liaison": None},
    )
    recs = [
        record(night, caller="w", org="workshops"),  # their hours: inside
        record(night, caller="c", role="customer", org="mini_nl"),  # customers: any time
        record(night, caller="a", role="authority_liaison", org="authorities"),
        record(night, caller="d"),  # dealers: default hours, outside
    ]
    assert [a.caller_id for a in evaluate(seal_many(recs, None), rules)] == ["d"]


@settings(max_examples=100)
@given(
    st.lists(st.tuples(st.integers(0, 7200), st.integers(0, 30)), max_size=150), st.integers(1, 20)
)
def test_an_alert_is_raised_exactly_when_some_hour_exceeds_the_threshold(
    reads: list[tuple[int, int]], limit: int
) -> None:
    rules = MonitoringRules(thresholds={"dealer": limit}, default_hours=None)
    reads.sort()
    recs = [record(WORKDAY + timedelta(seconds=s), subject=f"s{n}") for s, n in reads]
    hours: dict[int, set[int]] = {}
    for s, n in reads:
        hours.setdefault(s // 3600, set()).add(n)
    expected = sum(1 for subjects in hours.values() if len(subjects) > limit)
    assert len(evaluate(seal_many(recs, None), rules)) == expected


def test_a_list_read_counts_as_one_access_to_each_subject_it_names() -> None:
    """U3: one entry naming 8 subjects counts 8 subjects for the hour; a refusal of the rest of
    the list is one denied entry, not a burst."""
    rules = MonitoringRules(thresholds={"dealer": 5}, burst_count=3)
    listed = replace(record(WORKDAY, subject=""), subjects=",".join(f"s{i}" for i in range(8)))
    rest = record(WORKDAY, subject="", outcome="deny")
    alerts = evaluate(seal_many([listed, rest], None), rules)
    assert [(a.rule, a.count, a.entry_seq) for a in alerts] == [(AlertRule.SUBJECTS_PER_HOUR, 8, 1)]
    small = replace(listed, subjects="s1,s2,s3")
    assert evaluate(seal_many([small, rest, rest], None), rules) == []
