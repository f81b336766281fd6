"""Retention dates against an independent oracle (SPEC P4, L1): ``add_period`` agrees with
dateutil's ``relativedelta`` (months clamped to the month's last day, then weeks and days), and
``expired_anchors`` is exact: an anchor in it has expired by ``now``, an anchor outside it has
not, down to the microsecond, month ends and leap days included (where clamping makes the
expired anchors more than one interval)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import example, given, settings
from hypothesis import strategies as st

from carprivacy.domain.retention import ExpiredAnchors, add_period, expired_anchors

MOMENTS = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2090, 12, 31), timezones=st.just(UTC)
)
# month ends and leap days are where clamping happens: draw them often
MONTH_ENDS = st.builds(
    lambda year, month, day, seconds: (
        (datetime(year, month, 1, tzinfo=UTC) + relativedelta(day=31) - timedelta(days=day))
        + timedelta(seconds=seconds)
    ),
    st.integers(1990, 2090),
    st.integers(1, 12),
    st.integers(0, 3),
    st.integers(0, 86399),
)
ANCHORS = st.one_of(MOMENTS, MONTH_ENDS)
PERIODS = st.fixed_dictionaries(
    {
        "years": st.integers(0, 12),
        "months": st.integers(0, 30),
        "weeks": st.integers(0, 10),
        "days": st.integers(0, 40),
    }
)


@given(ANCHORS, PERIODS)
@settings(max_examples=400)
def test_add_period_agrees_with_relativedelta(anchor: datetime, period: dict[str, int]) -> None:
    assert add_period(anchor, **period) == anchor + relativedelta(**period)  # type: ignore[arg-type]


def _near(now: datetime, period: dict[str, int], seconds: int) -> datetime:
    """An anchor close to where the period lands on ``now``: where clamping bites."""
    return now - relativedelta(**period) + timedelta(seconds=seconds)  # type: ignore[arg-type]


@given(ANCHORS, PERIODS, st.integers(-5 * 86400, 5 * 86400), st.integers(0, 999_999))
@settings(max_examples=1500)
@example(
    datetime(2025, 2, 28, 12, tzinfo=UTC), {"years": 1, "months": 0, "weeks": 0, "days": 0}, 1, 0
)
@example(
    datetime(2025, 2, 28, 8, tzinfo=UTC), {"years": 0, "months": 1, "weeks": 0, "days": 0}, 0, 0
)
def test_the_expired_anchors_are_exactly_those_whose_period_has_run_out(
    now: datetime, period: dict[str, int], seconds: int, micros: int
) -> None:
    expired = expired_anchors(now, **period)
    for anchor in (
        _near(now, period, seconds) + timedelta(microseconds=micros),
        _near(now, period, seconds),
    ):
        assert (anchor in expired) is (anchor + relativedelta(**period) <= now)  # type: ignore[arg-type]
    # each interval's bounds are the exact edges: in, and one microsecond beyond is out
    for lo, hi in expired.intervals:
        assert hi in expired and hi + relativedelta(**period) <= now  # type: ignore[arg-type]
        beyond = hi + timedelta(microseconds=1)
        assert beyond not in expired and beyond + relativedelta(**period) > now  # type: ignore[arg-type]
        if lo is not None:
            before = lo - timedelta(microseconds=1)
            assert before not in expired and before + relativedelta(**period) > now  # type: ignore[arg-type]


@given(ANCHORS, ANCHORS, PERIODS)
@settings(max_examples=400)
def test_far_anchors_are_judged_right_too(
    anchor: datetime, now: datetime, period: dict[str, int]
) -> None:
    assert (anchor in expired_anchors(now, **period)) is (add_period(anchor, **period) <= now)


@given(ANCHORS, PERIODS, PERIODS, st.integers(-5 * 86400, 5 * 86400))
@settings(max_examples=400)
def test_two_rules_that_must_both_run_out(
    now: datetime, one: dict[str, int], two: dict[str, int], seconds: int
) -> None:
    both = expired_anchors(now, **one).intersect(expired_anchors(now, **two))
    anchor = _near(now, one, seconds)
    assert (anchor in both) is (
        add_period(anchor, **one) <= now and add_period(anchor, **two) <= now
    )


def test_a_later_moment_on_the_clamped_day_has_not_expired() -> None:
    """28 February 2024 12:00:01 + 1 year is after 28 February 2025 12:00; 29 February 2024 12:00
    + 1 year is not: the expired anchors are not one interval."""
    expired = expired_anchors(datetime(2025, 2, 28, 12, tzinfo=UTC), years=1)
    assert datetime(2024, 2, 28, 12, tzinfo=UTC) in expired
    assert datetime(2024, 2, 28, 12, 0, 1, tzinfo=UTC) not in expired
    assert datetime(2024, 2, 29, 12, tzinfo=UTC) in expired
    assert datetime(2024, 2, 29, 12, 0, 1, tzinfo=UTC) not in expired
    assert expired == ExpiredAnchors(
        (
            (None, datetime(2024, 2, 28, 12, tzinfo=UTC)),
            (datetime(2024, 2, 29, tzinfo=UTC), datetime(2024, 2, 29, 12, tzinfo=UTC)),
        )
    )


@pytest.mark.parametrize(
    ("now", "period", "latest"),
    [
        # 29, 30 and 31 January + 1 month all give 28 February
        ((2025, 2, 28, 9), {"months": 1}, datetime(2025, 1, 31, 9, tzinfo=UTC)),
        # no day of February 2025 + 1 month gives 29-31 March: every moment of 28 February
        # has expired by 31 March
        (
            (2025, 3, 31, 9),
            {"months": 1},
            datetime(2025, 2, 28, 23, 59, 59, 999999, tzinfo=UTC),
        ),
        # a contract that ended on the leap day: 1 year later is 28 February 2025
        ((2025, 2, 28, 12), {"years": 1}, datetime(2024, 2, 29, 12, tzinfo=UTC)),
        # financial transactions: 10 years, leap day to a non-leap year
        ((2034, 2, 28, 0), {"years": 10}, datetime(2024, 2, 29, 0, tzinfo=UTC)),
        # 4 weeks are 28 days, no calendar
        ((2026, 3, 1, 0), {"weeks": 4}, datetime(2026, 2, 1, 0, tzinfo=UTC)),
    ],
)
def test_month_end_cutoffs(
    now: tuple[int, int, int, int], period: dict[str, int], latest: datetime
) -> None:
    assert expired_anchors(datetime(*now, tzinfo=UTC), **period).latest == latest
