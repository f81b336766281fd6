"""The server's retention schedule (SPEC L1, L2): a run every interval, the first one interval
after the start; a run refused by another run's lock or failing does not end the schedule;
stopped, it starts no run."""

from __future__ import annotations

import threading
import time

import pytest

from carprivacy.domain.errors import RetentionRunInProgressError
from carprivacy.entrypoints.api.retention_schedule import RetentionSchedule, schedule_for


def _wait(predicate: object, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_runs_every_interval_through_refusals_and_failures() -> None:
    outcomes = iter([None, RetentionRunInProgressError("busy"), ValueError("x"), None])
    calls: list[float] = []

    def run() -> None:
        calls.append(time.monotonic())
        outcome = next(outcomes, None)
        if outcome is not None:
            raise outcome

    started = time.monotonic()
    schedule = RetentionSchedule(run, 0.05).start()
    _wait(lambda: len(calls) >= 4)
    schedule.stop()
    assert calls[0] - started >= 0.05  # not at the start: one interval after it
    assert (schedule.runs, schedule.skipped, schedule.failed) >= (2, 1, 1)
    after = len(calls)
    time.sleep(0.2)
    assert len(calls) == after  # stopped: no run starts


def test_stop_waits_for_the_run_in_progress() -> None:
    inside, release = threading.Event(), threading.Event()
    finished: list[bool] = []

    def run() -> None:
        inside.set()
        release.wait(10)
        finished.append(True)

    schedule = RetentionSchedule(run, 0.01).start()
    assert inside.wait(10)
    threading.Timer(0.1, release.set).start()
    schedule.stop()
    assert finished == [True]


def test_zero_is_off_and_a_negative_interval_is_refused() -> None:
    assert schedule_for(0, lambda: None) is None
    with pytest.raises(ValueError, match="positive"):
        RetentionSchedule(lambda: None, -1)
