"""Retention dates (SPEC P4): calendar arithmetic and the rules of the notice, with hypothesis."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from carprivacy.adapters.policy.loader import load_policy_file
from carprivacy.config import default_policy_path
from carprivacy.domain.policy import RetentionAnchor, RetentionRule
from carprivacy.domain.retention import (
    SECTION_B_MINIMUM,
    RetentionPlan,
    add_months,
    add_period,
    expiry_for,
    plan_for,
)
from carprivacy.domain.telemetry import collection_purposes

POLICY = load_policy_file(default_policy_path())
moments = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2100, 12, 31), timezones=st.just(UTC)
)
months = st.integers(min_value=-240, max_value=240)


def test_end_of_month_is_clamped():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2028, 2, 29), 12) == date(2029, 2, 28)
    assert add_months(date(2026, 3, 31), -1) == date(2026, 2, 28)
    assert add_period(datetime(2026, 1, 31, 10, tzinfo=UTC), years=10) == datetime(
        2036, 1, 31, 10, tzinfo=UTC
    )


@given(moments, months)
def test_add_months_lands_in_the_right_month_and_keeps_the_time(moment: datetime, n: int):
    out = add_months(moment, n)
    assert (out.year * 12 + out.month) - (moment.year * 12 + moment.month) == n
    assert out.day == min(moment.day, calendar.monthrange(out.year, out.month)[1])
    assert out.time() == moment.time() and out.tzinfo is moment.tzinfo


@given(moments, st.integers(0, 120), st.integers(0, 120))
def test_add_months_is_monotonic(moment: datetime, a: int, b: int):
    lo, hi = sorted((a, b))
    assert add_months(moment, lo) <= add_months(moment, hi)


@given(moments)
def test_section_b_position_data_expires_after_four_weeks(collected: datetime):
    purposes = collection_purposes(POLICY, "position_movement")
    assert "contract_performance" in purposes
    anchors = {RetentionAnchor.COLLECTED: collected}
    assert expiry_for(POLICY, "position_movement", purposes, anchors) == collected + timedelta(
        weeks=4
    )


def test_technical_data_is_held_until_the_vehicle_end_of_life():
    purposes = collection_purposes(POLICY, "vehicle_status")
    collected = datetime(2026, 5, 1, tzinfo=UTC)
    held = expiry_for(POLICY, "vehicle_status", purposes, {RetentionAnchor.COLLECTED: collected})
    assert held is None
    eol = datetime(2040, 6, 30, tzinfo=UTC)
    anchors = {RetentionAnchor.COLLECTED: collected, RetentionAnchor.VEHICLE_END_OF_LIFE: eol}
    assert expiry_for(POLICY, "vehicle_status", purposes, anchors) == eol


def rule(**kw: object) -> RetentionRule:
    base: dict[str, object] = {"id": "r", "category": "c", "purpose": None}
    base.update(kw)
    return RetentionRule(**base)  # type: ignore[arg-type]


@given(moments, st.integers(1, 8), st.integers(0, 3), st.booleans())
def test_section_b_keeps_four_weeks_unless_a_rule_says_longer(
    collected: datetime, weeks: int, months_: int, section_b: bool
):
    r = rule(anchor=RetentionAnchor.COLLECTED, weeks=weeks, months=months_)
    plan = RetentionPlan("c", (("p", (r,), section_b),))
    by_rule = add_period(collected, months=months_, weeks=weeks)
    expected = max(by_rule, collected + SECTION_B_MINIMUM) if section_b else by_rule
    assert plan.expires_at({RetentionAnchor.COLLECTED: collected}) == expected


@given(moments, st.lists(st.integers(1, 60), min_size=1, max_size=4))
def test_several_purposes_expire_with_the_last(collected: datetime, days: list[int]):
    per = tuple(
        (f"p{i}", (rule(anchor=RetentionAnchor.COLLECTED, days=d),), False)
        for i, d in enumerate(days)
    )
    plan = RetentionPlan("c", per)
    expected = collected + timedelta(days=max(days))
    assert plan.expires_at({RetentionAnchor.COLLECTED: collected}) == expected


def test_an_unknown_event_holds_and_purpose_end_does_not_extend():
    collected = datetime(2026, 1, 1, tzinfo=UTC)
    held = rule(anchor=RetentionAnchor.CONTRACT_END, years=1)
    open_ended = rule(anchor=RetentionAnchor.PURPOSE_END)
    dated = rule(anchor=RetentionAnchor.COLLECTED, weeks=2)
    a = {RetentionAnchor.COLLECTED: collected}
    assert RetentionPlan("c", (("p", (held,), False),)).expires_at(a) is None
    plan = RetentionPlan("c", (("p", (open_ended,), False), ("q", (dated,), False)))
    assert plan.expires_at(a) == collected + timedelta(weeks=2)
    assert RetentionPlan("c", (("p", (open_ended,), False),)).expires_at(a) is None
    end = datetime(2026, 6, 30, tzinfo=UTC)
    a2 = {**a, RetentionAnchor.CONTRACT_END: end}
    assert RetentionPlan("c", (("p", (held,), False),)).expires_at(a2) == add_period(end, years=1)


@given(
    moments,
    st.sampled_from([c.id for c in POLICY.categories]),
    st.one_of(st.none(), st.dates(min_value=date(2020, 1, 1), max_value=date(2080, 1, 1))),
)
def test_the_compiled_plan_gives_the_same_dates(collected: datetime, category: str, eol):
    plan = plan_for(POLICY, category, collection_purposes(POLICY, category))
    events = {}
    if eol is not None:
        events[RetentionAnchor.VEHICLE_END_OF_LIFE] = datetime(
            eol.year, eol.month, eol.day, tzinfo=UTC
        )
    anchors = {RetentionAnchor.COLLECTED: collected, **events}
    assert plan.for_events(events)(collected) == plan.expires_at(anchors)
