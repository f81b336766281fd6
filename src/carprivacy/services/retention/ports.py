"""The ports of the retention room (SPEC L1, L2): where expired data is selected and removed,
where runs are recorded, and where legal holds are kept."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, NamedTuple, Protocol

from carprivacy.domain.legal_holds import LegalHold
from carprivacy.domain.retention_run import Counts, RetentionRun, RunStatus
from carprivacy.domain.retention_steps import RetentionStep


class ExpiredRow(NamedTuple):
    """A selected row, with what deciding its rule and action needs (no personal data).

    For ``stamped`` telemetry: its purposes and ``span`` (``expires_at - ts``), and ``ts`` for
    the step's ``calendar_categories``; for the other steps the step names the rule."""

    id: int | str
    category: str
    purposes: tuple[str, ...] = ()
    span: timedelta | None = None
    ts: datetime | None = None
    sealed: bool = False  # the value is sealed under the subject's key
    order: Any = None  # the row's value of the batch order, opaque: ``select``'s ``since``


class ExpiredGroup(NamedTuple):
    """The rows of a time partition that share what their rule depends on (stamped telemetry:
    category, purposes, span), and how many there are."""

    category: str
    purposes: tuple[str, ...]
    span: timedelta
    sealed: bool
    rows: int


class ExpiredPartition(NamedTuple):
    """A time partition of telemetry whose rows have all expired, none under a legal hold: it
    can be dropped whole when every group's rule deletes."""

    name: str
    rows: int
    groups: tuple[ExpiredGroup, ...]
    last_id: int  # the highest row id found: a row written after the count has a higher one


class RetentionStore(Protocol):
    def run_lock(self) -> AbstractContextManager[None]:
        """Held for a whole run, released when the process ends however it ends (a killed run
        never blocks the next); raises RetentionRunInProgressError when another run holds it."""
        ...

    def count(self, step: RetentionStep) -> int:
        """How many rows ``step`` selects now (legal holds excluded)."""
        ...

    def select(self, step: RetentionStep, limit: int, since: Any = None) -> list[ExpiredRow]:
        """Up to ``limit`` rows of ``step``, not under an active legal hold, in the step's
        order, from ``since`` on (the ``order`` of the previous batch's last row; inclusive).
        Applying them removes them from the selection, so the next call gives the next ones;
        ``since`` lets it skip what lies before (held rows, PostgreSQL's dead index entries)."""
        ...

    def stream(self, step: RetentionStep, batch: int) -> Iterator[list[ExpiredRow]]:
        """Every row of ``step`` once, in batches, changing nothing (the dry run)."""
        ...

    def apply(
        self,
        run_id: str,
        step: RetentionStep,
        delete: Sequence[int | str],
        anonymise: Sequence[int | str],
        counts: Counts,
        at: datetime,
    ) -> None:
        """One transaction: delete and anonymise these rows of ``step``, and record the run's
        counts so far (``counts``) and ``at`` as its heartbeat. Killed before the commit: nothing
        of it. Anonymised: no subject, keyed to the vehicle; a ``stamped`` row also loses its
        expiry (it leaves the selection, kept in a form that no longer identifies)."""
        ...

    def prepare(self, now: datetime) -> None:
        """Before a run's steps: e.g. create the time partitions ahead of ``now``."""
        ...

    def expired_partitions(self, step: RetentionStep) -> list[ExpiredPartition]:
        """The time partitions ``step`` (stamped telemetry) would empty: every row expired at
        the step's moment, none under an active hold (none where the store has no partitions)."""
        ...

    def drop_partition(
        self,
        run_id: str,
        step: RetentionStep,
        partition: ExpiredPartition,
        counts: Counts,
        at: datetime,
    ) -> bool:
        """One transaction: drop the partition and record the run's counts so far (``at`` its
        heartbeat), if it still holds only what ``expired_partitions`` found at the step's
        moment (else False, nothing done)."""
        ...

    def start_run(self, run: RetentionRun) -> None: ...

    def finish_run(self, run_id: str, status: RunStatus, at: datetime, counts: Counts) -> None: ...

    def runs(self, limit: int = 20, status: RunStatus | None = None) -> list[RetentionRun]:
        """The latest runs first."""
        ...


class LegalHoldRepository(Protocol):
    def add(self, hold: LegalHold) -> None: ...

    def get(self, hold_id: str) -> LegalHold | None: ...

    def release(self, hold_id: str, at: datetime, by: str, reason: str) -> bool:
        """Release an active hold; False when it was not active (unknown or released)."""
        ...

    def list(self, active_only: bool = True) -> list[LegalHold]: ...
