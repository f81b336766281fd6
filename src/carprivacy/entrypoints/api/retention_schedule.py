"""The server's own retention schedule (SPEC L1, L2; docs/retention.md "Scheduling").

``carprivacy serve`` runs the retention job every ``retention_interval_seconds`` (0: never; the
first run one interval after the start, so a fresh server answers first), on a thread of the
serving process (``--workers 1``) or of the parent of the worker processes (``--workers N``:
one schedule, not one per process). A run refused because another run holds the lock (a
``carprivacy retention run`` started by cron, another server) is skipped until the next
interval; a failing run is logged (rule and error class only) and the schedule goes on. Runs
are recorded and audited as any run is, and listed by ``carprivacy retention runs`` and the
console.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from carprivacy.domain.errors import RetentionRunInProgressError

log = logging.getLogger("carprivacy.retention")


class RetentionSchedule:
    def __init__(self, run: Callable[[], object], interval_seconds: float) -> None:
        if interval_seconds <= 0:
            raise ValueError("a schedule needs a positive interval")
        self._run = run
        self.interval = interval_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="retention-schedule", daemon=True)
        self.runs = 0  # runs that completed
        self.skipped = 0  # intervals whose run another run's lock refused
        self.failed = 0

    def start(self) -> RetentionSchedule:
        self._thread.start()
        return self

    def stop(self, timeout: float = 30) -> None:
        """No run starts after this; a run in progress is waited for up to ``timeout``."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._run()
            except RetentionRunInProgressError:
                self.skipped += 1
                log.info("retention run skipped: another run holds the lock")
            except Exception as exc:  # noqa: BLE001  # the schedule outlives one failed run
                self.failed += 1
                log.error("retention run failed: %s", type(exc).__name__)
            else:
                self.runs += 1


def schedule_for(interval_seconds: int, run: Callable[[], object]) -> RetentionSchedule | None:
    """The started schedule, None when the interval is 0 (off)."""
    return None if interval_seconds == 0 else RetentionSchedule(run, interval_seconds).start()
