"""Request deadlines against an independent oracle (SPEC R7; Art. 12(3) GDPR): dateutil's
time zones and calendar months give the receipt date in Amsterdam, the due date one month later
(month ends clamped), its end in Amsterdam, and the extension by at most two further months,
counted from the receipt and told within the first month."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from dateutil import tz
from dateutil.relativedelta import relativedelta
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from carprivacy.domain.errors import InvalidInputError
from carprivacy.domain.policy import DeadlineRule
from carprivacy.domain.request_deadlines import (
    CONTROLLER_TIME_ZONE,
    DeadlineStanding,
    deadline_for,
)

AMSTERDAM = tz.gettz(CONTROLLER_TIME_ZONE)
MOMENTS = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2090, 12, 31), timezones=st.just(UTC)
)
# the last days of months and the hours around midnight in Amsterdam, where dates flip
EDGES = st.builds(
    lambda year, month, back, minutes: (
        datetime(year, month, 1, 0, 0, tzinfo=AMSTERDAM)
        + relativedelta(months=1)
        - timedelta(days=back)
        + timedelta(minutes=minutes)
    ),
    st.integers(2000, 2090),
    st.integers(1, 12),
    st.integers(0, 3),
    st.integers(-120, 120),
).map(lambda d: d.astimezone(UTC))
RECEIVED = st.one_of(MOMENTS, EDGES)


def _oracle_due(received: datetime, months: int) -> tuple[date, datetime]:
    local = received.astimezone(AMSTERDAM).date()
    due = local + relativedelta(months=months)
    end = datetime.combine(due + timedelta(days=1), time(), AMSTERDAM)
    return due, end


@given(RECEIVED)
@settings(max_examples=800)
@example(datetime(2025, 1, 31, 10, tzinfo=UTC))
@example(datetime(2025, 1, 31, 23, 30, tzinfo=UTC))  # already 1 February in Amsterdam
@example(datetime(2024, 1, 31, 12, tzinfo=UTC))
def test_due_one_calendar_month_after_receipt_in_amsterdam(received: datetime) -> None:
    deadline = deadline_for(received)
    due, end = _oracle_due(received, 1)
    assert deadline.receipt_date == received.astimezone(AMSTERDAM).date()
    assert deadline.due_date == due
    assert deadline.due_by == end  # the same instant, whatever the offset (CET or CEST)
    assert deadline.due_by.astimezone(AMSTERDAM).time() == time()
    assert deadline.due_by.tzinfo is UTC
    # a calendar month is 28 to 31 days after the receipt date
    assert 28 <= (deadline.due_date - deadline.receipt_date).days <= 31


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (datetime(2025, 1, 31, 10, tzinfo=UTC), date(2025, 2, 28)),
        (datetime(2024, 1, 31, 10, tzinfo=UTC), date(2024, 2, 29)),
        (datetime(2025, 1, 29, 10, tzinfo=UTC), date(2025, 2, 28)),
        (datetime(2025, 1, 31, 23, 30, tzinfo=UTC), date(2025, 3, 1)),  # 1 Feb in Amsterdam
        (datetime(2025, 3, 31, 10, tzinfo=UTC), date(2025, 4, 30)),
        (datetime(2025, 4, 30, 10, tzinfo=UTC), date(2025, 5, 30)),
        (datetime(2025, 12, 31, 10, tzinfo=UTC), date(2026, 1, 31)),
    ],
)
def test_month_ends(received: datetime, due: date) -> None:
    assert deadline_for(received).due_date == due


def test_the_end_of_the_due_day_is_midnight_in_amsterdam() -> None:
    summer = deadline_for(datetime(2025, 6, 10, 9, tzinfo=UTC))  # due 10 July, CEST
    assert summer.due_by == datetime(2025, 7, 10, 22, 0, tzinfo=UTC)
    winter = deadline_for(datetime(2025, 1, 10, 9, tzinfo=UTC))  # due 10 February, CET
    assert winter.due_by == datetime(2025, 2, 10, 23, 0, tzinfo=UTC)


@given(RECEIVED, st.integers(1, 2), st.floats(0, 1))
@settings(max_examples=500)
@example(datetime(2025, 1, 31, 10, tzinfo=UTC), 2, 0.5)
def test_an_extension_counts_from_the_receipt(received: datetime, months: int, when: float) -> None:
    deadline = deadline_for(received)
    told = received + (deadline.original_due_by - received) * when * 0.999
    extended = deadline.extend(
        months, "the request covers ten years of data", decided_by="dpo", told_at=told, now=told
    )
    due, end = _oracle_due(received, 1 + months)
    assert extended.due_date == due and extended.due_by == end
    assert extended.original_due_date == deadline.due_date
    (extension,) = extended.extensions
    assert (extension.months, extension.decided_by, extension.told_at) == (months, "dpo", told)


def test_received_31_january_extended_by_two_months_is_due_30_april() -> None:
    d = deadline_for(datetime(2025, 1, 31, 10, tzinfo=UTC))
    told = datetime(2025, 2, 10, 9, tzinfo=UTC)
    once = d.extend(1, "complex", decided_by="dpo", told_at=told, now=told)
    assert once.due_date == date(2025, 3, 31)
    twice = once.extend(1, "more", decided_by="dpo", told_at=told, now=told)
    assert twice.due_date == date(2025, 4, 30)  # not 28 February + 2 months = 28 April


def _refused(call: object) -> set[str]:
    with pytest.raises(InvalidInputError) as refused:
        call()  # type: ignore[operator]
    return {p.rule for p in refused.value.problems}


@given(RECEIVED, st.integers(0, 3 * 86400))
@settings(max_examples=300)
def test_an_extension_told_after_the_first_month_is_refused(
    received: datetime, late_by: int
) -> None:
    d = deadline_for(received)
    told = d.original_due_by + timedelta(seconds=late_by)
    rules = _refused(lambda: d.extend(1, "late", decided_by="dpo", told_at=told, now=told))
    assert rules == {"deadline.extension_late"}


def test_refusals_name_the_rule() -> None:
    d = deadline_for(datetime(2025, 1, 10, 10, tzinfo=UTC))
    at = datetime(2025, 1, 12, tzinfo=UTC)
    assert _refused(lambda: d.extend(3, "x", decided_by="dpo", told_at=at, now=at)) == {
        "deadline.extension_months"
    }
    assert _refused(lambda: d.extend(0, "x", decided_by="dpo", told_at=at, now=at)) == {
        "deadline.extension_months"
    }
    two = d.extend(2, "x", decided_by="dpo", told_at=at, now=at)
    assert _refused(lambda: two.extend(1, "x", decided_by="dpo", told_at=at, now=at)) == {
        "deadline.extension_months"
    }
    assert _refused(lambda: d.extend(1, "  ", decided_by="dpo", told_at=at, now=at)) == {
        "deadline.extension_reason"
    }
    assert _refused(lambda: d.extend(1, "x", decided_by="", told_at=at, now=at)) == {
        "deadline.extension_author"
    }
    future = at + timedelta(days=1)
    assert _refused(lambda: d.extend(1, "x", decided_by="dpo", told_at=future, now=at)) == {
        "deadline.told_in_future"
    }
    before = datetime(2025, 1, 1, tzinfo=UTC)
    assert _refused(lambda: d.extend(1, "x", decided_by="dpo", told_at=before, now=at)) == {
        "deadline.told_before_receipt"
    }
    naive = datetime(2025, 1, 12)
    assert "deadline.time_zone" in _refused(
        lambda: d.extend(1, "x", decided_by="dpo", told_at=naive, now=at)
    )
    assert _refused(lambda: deadline_for(naive)) == {"deadline.time_zone"}
    with pytest.raises(InvalidInputError) as refused:
        d.extend(3, "x", decided_by="dpo", told_at=at, now=at)
    assert "Art. 12(3) GDPR" in str(refused.value)  # every refusal names its article
    months = _refused(lambda: d.extend(5, "", decided_by="dpo", told_at=at, now=at))
    assert months == {"deadline.extension_months", "deadline.extension_reason"}


@given(RECEIVED, st.integers(-40 * 86400, 40 * 86400))
@settings(max_examples=500)
def test_standing_at_any_moment(received: datetime, offset: int) -> None:
    d = deadline_for(received)
    now = d.due_by + timedelta(seconds=offset)
    _due, end = _oracle_due(received, 1)
    expected = (
        DeadlineStanding.OVERDUE
        if now >= end
        else DeadlineStanding.NEARLY_DUE
        if end - now <= timedelta(days=7)
        else DeadlineStanding.ON_TIME
    )
    assert d.standing(now) is expected
    assert d.remaining(now) == end.astimezone(UTC) - now.astimezone(UTC)


def test_standing_edges() -> None:
    d = deadline_for(datetime(2025, 1, 31, 10, tzinfo=UTC))  # due 28 Feb, ends 23:00 UTC
    end = datetime(2025, 2, 28, 23, 0, tzinfo=UTC)
    assert d.due_by == end
    assert d.standing(end - timedelta(microseconds=1)) is DeadlineStanding.NEARLY_DUE
    assert d.standing(end) is DeadlineStanding.OVERDUE
    assert d.standing(end - timedelta(days=7)) is DeadlineStanding.NEARLY_DUE
    assert d.standing(end - timedelta(days=7, microseconds=1)) is DeadlineStanding.ON_TIME
    assert d.standing(end - timedelta(days=2), nearly_due=timedelta(days=1)) is (
        DeadlineStanding.ON_TIME
    )


@given(RECEIVED, RECEIVED)
def test_a_later_receipt_is_never_due_earlier(one: datetime, two: datetime) -> None:
    assume(one <= two)
    assert deadline_for(one).due_by <= deadline_for(two).due_by


def test_the_policy_sets_the_period() -> None:
    d = deadline_for(
        datetime(2025, 1, 31, 10, tzinfo=UTC), DeadlineRule(months=2, extension_months=1)
    )
    assert d.due_date == date(2025, 3, 31)
    at = datetime(2025, 2, 1, tzinfo=UTC)
    assert _refused(lambda: d.extend(2, "x", decided_by="dpo", told_at=at, now=at)) == {
        "deadline.extension_months"
    }


def test_time_left_across_the_change_to_summer_time() -> None:
    """Due 1 April 2025 (CEST), asked on 29 March (CET) with an Amsterdam clock: the hour the
    clocks skip is not counted twice or lost."""
    from zoneinfo import ZoneInfo

    d = deadline_for(datetime(2025, 3, 1, 10, tzinfo=UTC))
    now = datetime(2025, 3, 29, 12, tzinfo=ZoneInfo(CONTROLLER_TIME_ZONE))  # 11:00 UTC
    assert d.due_by == datetime(2025, 4, 1, 22, tzinfo=UTC)
    assert d.remaining(now) == timedelta(days=3, hours=11)
    assert d.standing(now) is DeadlineStanding.NEARLY_DUE
