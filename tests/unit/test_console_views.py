"""The console's read models (SPEC R7, C4): the requests page's lines and order from requests made
by the domain's workflow, against the domain's own deadline rule; the consent statistics per
topic as sums of the ledger's counts. Hypothesis over receipt times, ages, extensions and ends."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from carprivacy.domain.access import Caller, CallerKind, Role
from carprivacy.domain.consent_ledger import EntryKind
from carprivacy.domain.request_deadlines import DeadlineStanding
from carprivacy.domain.request_workflow import (
    DataSubjectRequest,
    RequestChannel,
    RequestKind,
    Verification,
    receive,
)
from carprivacy.services.oversight.consent_statistics import per_topic
from carprivacy.services.oversight.ports import ConsentCount, NoRequests
from carprivacy.services.oversight.requests import request_lines, tally

NOW = datetime(2026, 12, 6, 21, 0, tzinfo=UTC)
URGENCY = {DeadlineStanding.OVERDUE: 0, DeadlineStanding.NEARLY_DUE: 1, DeadlineStanding.ON_TIME: 2}


@st.composite
def requests(draw: st.DrawFn) -> DataSubjectRequest:
    i = draw(st.integers(0, 10_000))
    received = NOW - timedelta(minutes=draw(st.integers(0, 130 * 24 * 60)))
    made = receive(
        id=f"r{i}",
        kind=draw(st.sampled_from(list(RequestKind))),
        subject_id=f"s{i}",
        controller=draw(st.sampled_from(["mini_nl", "bmw_ag"])),
        channel=RequestChannel.PORTAL,
        received_at=received,
        by="portal",
    )
    step = received + (NOW - received) / 4
    if draw(st.booleans()) and made.deadline.original_due_by > step:  # told within the month
        made = made.extend(draw(st.integers(1, 2)), "complex", by="dpo", told_at=step, at=step)
    end = draw(st.sampled_from(["open", "completed", "refused"]))
    if end == "completed":
        made = (
            made.verify(Verification.SESSION, by="p", at=step + (NOW - step) / 3)
            .start(by="dpo", at=step + (NOW - step) / 2)
            .complete(by="dpo", at=NOW)
        )
    elif end == "refused":
        made = made.refuse(by="dpo", at=NOW, reason="manifestly unfounded")
    return made


@settings(max_examples=150, deadline=None)
@given(st.lists(requests(), max_size=25, unique_by=lambda r: r.id))
def test_request_lines_follow_the_domain_and_put_the_most_urgent_first(
    made: list[DataSubjectRequest],
) -> None:
    lines = request_lines(made, NOW)
    assert sorted(x.id for x in lines) == sorted(r.id for r in made)
    by_id = {r.id: r for r in made}
    for x in lines:
        r = by_id[x.id]
        assert x.standing == r.standing(NOW)  # None once final
        assert x.due == r.deadline.due_date and x.original_due == r.deadline.original_due_date
        assert x.extended == (r.deadline.extended_months > 0)
        assert x.overdue == (x.standing is DeadlineStanding.OVERDUE)
        assert x.overdue == (not r.state.final and r.deadline.due_by <= NOW)
    open_ = [x for x in lines if x.standing is not None]
    assert lines[: len(open_)] == open_  # open before closed
    keys = [(URGENCY[x.standing], x.due_by) for x in open_ if x.standing is not None]
    assert keys == sorted(keys)
    counted = tally(lines)
    assert counted.open + counted.closed == len(made)
    assert counted.overdue == sum(1 for x in lines if x.overdue)
    assert counted.nearly_due == sum(1 for x in lines if x.nearly_due)


def test_no_requests_is_the_default_port() -> None:
    officer = Caller("dpo", CallerKind.PERSON, Role.PRIVACY_OFFICER, "mini_nl_staff")
    assert list(NoRequests().requests(officer, 100)) == []
    assert request_lines(NoRequests().requests(officer, 100), NOW) == []


COUNTS = st.builds(
    ConsentCount,
    day=st.dates(date(2026, 1, 1), date(2026, 1, 20)),
    topic=st.sampled_from(["a", "b", "c", "gone"]),
    channel=st.sampled_from(["portal", "app", "call_centre"]),
    kind=st.sampled_from([EntryKind.CONSENT_GIVEN, EntryKind.CONSENT_WITHDRAWN]),
    count=st.integers(1, 50),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(COUNTS, max_size=40))
def test_statistics_per_topic_are_sums_of_the_counts(counts: list[ConsentCount]) -> None:
    stats = per_topic(counts, ["a", "b", "c"])
    assert [s.topic for s in stats][:3] == ["a", "b", "c"]  # the policy's topics, even at zero
    assert {s.topic for s in stats} == {"a", "b", "c"} | {c.topic for c in counts}
    total: Counter[tuple[str, EntryKind]] = Counter()
    for c in counts:
        total[(c.topic, c.kind)] += c.count
    for s in stats:
        assert s.given == total[(s.topic, EntryKind.CONSENT_GIVEN)]
        assert s.withdrawn == total[(s.topic, EntryKind.CONSENT_WITHDRAWN)]
        assert sum(s.by_channel.values()) == s.given + s.withdrawn
        for key, points in s.by_day.items():
            assert [d for d, _ in points] == sorted({d for d, _ in points})
            assert sum(n for _, n in points) == s.by_channel[key]
