"""Art. 7(3): a withdrawal stops every consent record in force for the topic.

A consent entered out of order (given in the app on day 5, a phone consent backdated to day 1)
leaves two records; withdrawing must close both, or the engine would still find one in force.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from carprivacy.services.consent.subject_state import SubjectStateService
from carprivacy.testing.decision_policy import sample_policy
from carprivacy.testing.subject_state import InMemorySubjectStateRepository

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def test_withdrawal_closes_consents_entered_out_of_order() -> None:
    service = SubjectStateService(sample_policy(), InMemorySubjectStateRepository())
    service.give("s1", "marketing_email", at=T0 + timedelta(days=5), by="s1", channel="app")
    service.give("s1", "marketing_email", at=T0 + timedelta(days=1), by="cc", channel="phone")
    service.withdraw("s1", "marketing_email", at=T0 + timedelta(days=10), by="s1", channel="app")
    later = T0 + timedelta(days=20)
    assert not any(r.active(later) for r in service.history("s1") if r.topic == "marketing_email")
    assert len(service.history("s1")) == 2  # both kept as evidence (C4)


@settings(max_examples=50, deadline=None)
@given(
    gives=st.lists(st.integers(min_value=0, max_value=30), min_size=1, max_size=6),
    withdraw_day=st.integers(min_value=0, max_value=40),
)
def test_after_a_withdrawal_no_consent_given_before_it_is_in_force(
    gives: list[int], withdraw_day: int
) -> None:
    service = SubjectStateService(sample_policy(), InMemorySubjectStateRepository())
    for day in gives:
        service.give("s", "marketing_email", at=T0 + timedelta(days=day), by="s", channel="app")
    if withdraw_day < min(gives):
        return
    at = T0 + timedelta(days=withdraw_day)
    service.withdraw("s", "marketing_email", at=at, by="s", channel="app")
    for rec in service.history("s"):
        if rec.given_at <= at:
            assert not rec.active(at + timedelta(seconds=1))
