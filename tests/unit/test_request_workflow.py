"""The states of a data-subject request (SPEC R1-R8, R7): received, verified, in progress,
completed, refused, partially refused; nothing starts before the identity is verified; a
refusal names its reason; every change records who, when and why; end states are final; an
open request has a deadline standing, a closed one none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carprivacy.domain.errors import InvalidInputError
from carprivacy.domain.request_deadlines import DeadlineStanding
from carprivacy.domain.request_workflow import (
    TRANSITIONS,
    DataSubjectRequest,
    RequestChannel,
    RequestKind,
    RequestState,
    Verification,
    receive,
)

T0 = datetime(2025, 1, 31, 10, tzinfo=UTC)


def _new(kind: RequestKind = RequestKind.ERASURE) -> DataSubjectRequest:
    return receive(
        id="req-1",
        kind=kind,
        subject_id="cust-a",
        controller="mini_nl",
        channel=RequestChannel.LETTER,
        received_at=T0,
        by="agent-7",
    )


def _refused(call: object) -> set[str]:
    with pytest.raises(InvalidInputError) as refused:
        call()  # type: ignore[operator]
    return {p.rule for p in refused.value.problems}


def test_the_happy_path_records_every_change() -> None:
    r = _new()
    r = r.verify(Verification.STAFF_EVIDENCE, by="agent-7", at=T0 + timedelta(hours=1))
    r = r.start(by="dpo", at=T0 + timedelta(days=1))
    assert r.standing(T0 + timedelta(days=2)) is DeadlineStanding.ON_TIME
    assert r.standing(T0 + timedelta(days=25)) is DeadlineStanding.NEARLY_DUE
    assert r.standing(T0 + timedelta(days=29)) is DeadlineStanding.OVERDUE
    r = r.complete(by="dpo", at=T0 + timedelta(days=3), note="erased; invoices kept 10 years")
    assert r.state is RequestState.COMPLETED and r.standing(T0 + timedelta(days=40)) is None
    assert [(c.before, c.after, c.by) for c in r.history] == [
        (None, RequestState.RECEIVED, "agent-7"),
        (RequestState.RECEIVED, RequestState.VERIFIED, "agent-7"),
        (RequestState.VERIFIED, RequestState.IN_PROGRESS, "dpo"),
        (RequestState.IN_PROGRESS, RequestState.COMPLETED, "dpo"),
    ]
    assert r.verification is Verification.STAFF_EVIDENCE
    assert r.deadline.due_date.isoformat() == "2025-02-28"
    assert r.kind.article == "Art. 17 GDPR"


def test_nothing_starts_before_the_identity_is_verified() -> None:
    rules = _refused(lambda: _new().start(by="dpo", at=T0))
    assert rules == {"request.transition"}
    with pytest.raises(InvalidInputError) as refused:
        _new().start(by="dpo", at=T0)
    assert "Art. 12(6) GDPR" in str(refused.value)


def test_a_refusal_names_its_reason() -> None:
    assert _refused(lambda: _new().refuse(by="dpo", at=T0, reason=" ")) == {
        "request.refusal_reason"
    }
    r = _new().refuse(by="dpo", at=T0, reason="identity could not be verified")
    assert r.state is RequestState.REFUSED and r.history[-1].reason.startswith("identity")


def test_time_does_not_run_backwards_and_someone_acts() -> None:
    assert _refused(
        lambda: _new().verify(Verification.SESSION, by="x", at=T0 - timedelta(seconds=1))
    ) == {"request.time_order"}
    assert _refused(lambda: _new().verify(Verification.SESSION, by="", at=T0)) == {"request.actor"}
    assert "request.time_zone" in _refused(
        lambda: _new().verify(Verification.SESSION, by="x", at=datetime(2025, 2, 1))
    )
    assert _refused(
        lambda: receive(
            id="r",
            kind=RequestKind.ACCESS,
            subject_id="",
            controller="mini_nl",
            channel=RequestChannel.PORTAL,
            received_at=T0,
            by="eva",
        )
    ) == {"request.required"}


MOVES = ["verify", "start", "complete", "refuse", "partially_refuse"]
TARGET = {
    "verify": RequestState.VERIFIED,
    "start": RequestState.IN_PROGRESS,
    "complete": RequestState.COMPLETED,
    "refuse": RequestState.REFUSED,
    "partially_refuse": RequestState.PARTIALLY_REFUSED,
}


def _do(r: DataSubjectRequest, move: str, at: datetime) -> DataSubjectRequest:
    if move == "verify":
        return r.verify(Verification.EMAIL_CODE, by="eva", at=at)
    if move in ("refuse", "partially_refuse"):
        return getattr(r, move)(by="dpo", at=at, reason="legal claims")  # type: ignore[no-any-return]
    return getattr(r, move)(by="dpo", at=at)  # type: ignore[no-any-return]


@settings(max_examples=300)
@given(st.sampled_from(list(RequestKind)), st.lists(st.sampled_from(MOVES), max_size=8))
def test_only_the_drawn_transitions_happen(kind: RequestKind, moves: list[str]) -> None:
    r = _new(kind)
    at = T0
    for move in moves:
        at += timedelta(hours=1)
        before = r
        if TARGET[move] in TRANSITIONS[r.state]:
            r = _do(r, move, at)
            assert r.state is TARGET[move]
            assert len(r.history) == len(before.history) + 1
            assert r.history[-1].before is before.state and r.history[-1].at == at
        else:
            assert _refused(lambda b=before, m=move, a=at: _do(b, m, a)) == {"request.transition"}
            assert r == before  # nothing changed
    if r.state.final:
        for move in MOVES:  # an end state is final
            assert _refused(lambda m=move: _do(r, m, at)) == {"request.transition"}
    # in progress only after verified, every time
    states = [c.after for c in r.history]
    if RequestState.IN_PROGRESS in states:
        assert states.index(RequestState.VERIFIED) < states.index(RequestState.IN_PROGRESS)


def test_an_extension_is_recorded_with_its_reason_and_moves_the_due_date() -> None:
    r = _new()  # received 31 January 2025: due 28 February
    at = T0 + timedelta(days=3)
    extended = r.extend(2, "many vehicles to search", by="officer", told_at=at, at=at)
    assert extended.deadline.due_date.isoformat() == "2025-04-30"
    assert extended.state is r.state
    assert "many vehicles to search" in extended.history[-1].reason
    late = T0 + timedelta(days=40)
    with pytest.raises(InvalidInputError) as refused:
        r.extend(1, "late", by="officer", told_at=late, at=late)
    assert "deadline.extension_late" in str(refused.value.problems)


def test_a_closed_request_is_not_extended() -> None:
    at = T0 + timedelta(hours=1)
    done = _new().refuse(by="officer", at=at, reason="manifestly unfounded")
    with pytest.raises(InvalidInputError):
        done.extend(1, "more time", by="officer", told_at=at, at=at)
