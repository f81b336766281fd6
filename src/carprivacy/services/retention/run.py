"""The retention run (SPEC L1, L2): delete or anonymise what has expired under the policy.

The policy's rules are compiled for the run's moment into steps (``domain.retention_steps``);
each step is taken in batches: the store selects up to ``batch_size`` expired rows not under a
legal hold, the rule and action of each is decided here, and one transaction deletes or
anonymises them together with the run's counts so far. Memory holds one batch; each lock lasts
one batch. Interrupted anywhere (SIGKILL included), every committed batch is whole and the run's
record says what it removed; running again selects what is left and ends in the same state.

A dry run takes the same steps, streams the same selections and decides the same rules, and
changes nothing: no row, no run record, no audit entry. Every real run writes audit entries: one
per (table, category, rule, action) with its row count, and one for the run; ids of rules and
categories only, never personal data.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from carprivacy.domain.audit import AuditRecord
from carprivacy.domain.policy import ExpiryAction, Policy
from carprivacy.domain.retention_run import CountKey, Counts, RetentionRun, RunStatus
from carprivacy.domain.retention_steps import (
    RetentionStep,
    RetentionTable,
    StampedRules,
    StepKind,
    retention_steps,
)
from carprivacy.services.audit.trail import AuditService, iso
from carprivacy.services.ports.clock import Clock
from carprivacy.services.retention.ports import ExpiredPartition, ExpiredRow, RetentionStore

RETENTION_CALLER = "system:retention"
RETENTION_PURPOSE = "retention"  # storage limitation, Art. 5(1)(e) GDPR

Progress = Callable[[RetentionStep, int, int], None]  # step, rows done, rows selected at start


@dataclass(frozen=True)
class RetentionReport:
    as_of: datetime
    dry_run: bool
    counts: Counts
    steps: tuple[RetentionStep, ...]
    run_id: str | None = None  # None: a dry run records nothing
    interrupted: tuple[str, ...] = field(default=())  # earlier runs found killed, now closed

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def by_category(self) -> dict[tuple[str, str], int]:
        """Rows per (category, action)."""
        out: Counter[tuple[str, str]] = Counter()
        for key, n in self.counts.items():
            out[(key.category, key.action.value)] += n
        return dict(sorted(out.items()))


class RetentionService:
    def __init__(
        self,
        policy: Policy,
        store: RetentionStore,
        audit: AuditService,
        clock: Clock,
        *,
        batch_size: int = 5000,
        telemetry_categories: tuple[str, ...] | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.policy = policy
        self.store = store
        self.audit = audit
        self.clock = clock
        self.batch_size = batch_size
        self.telemetry_categories = telemetry_categories
        self._stamped = StampedRules(policy)

    def steps(self, now: datetime) -> list[RetentionStep]:
        return retention_steps(self.policy, now.astimezone(UTC), self.telemetry_categories)

    def run(
        self,
        *,
        dry_run: bool = False,
        now: datetime | None = None,
        progress: Progress | None = None,
    ) -> RetentionReport:
        """One run at ``now`` (default: the clock). RetentionRunInProgressError when another
        run holds the lock."""
        as_of = (now or self.clock()).astimezone(UTC)
        steps = self.steps(as_of)
        with self.store.run_lock():
            closed = () if dry_run else self._close_interrupted()
            run_id = None if dry_run else str(uuid.uuid4())
            if run_id is not None:
                self.store.start_run(
                    RetentionRun(
                        run_id, as_of, self.clock(), RunStatus.RUNNING, self.policy.version
                    )
                )
            if not dry_run:
                self.store.prepare(as_of)
            counts: Counts = Counter()
            for step in steps:
                # the total only for a progress bar: counting is a pass of its own
                total = self.store.count(step) if progress is not None else 0
                done = 0
                if progress is not None:
                    progress(step, 0, total)
                if run_id is not None:  # whole expired weeks first (the dry run counts rows)
                    for partition in self.store.expired_partitions(step):
                        added = self._partition_counts(step, partition)
                        if added is None:
                            continue
                        after = counts + added
                        if self.store.drop_partition(run_id, step, partition, after, self.clock()):
                            counts = after
                            done += partition.rows
                            if progress is not None:
                                progress(step, done, max(total, done))
                batches = (
                    self.store.stream(step, self.batch_size) if dry_run else self._batches(step)
                )
                for rows in batches:
                    delete, anonymise, added = self._decide(step, rows)
                    after = counts + added
                    if run_id is not None:
                        self.store.apply(run_id, step, delete, anonymise, after, self.clock())
                    counts = after
                    done += len(rows)
                    if progress is not None:
                        progress(step, done, max(total, done))
            if run_id is not None:
                self._audit(run_id, RunStatus.COMPLETED, counts)
                self.store.finish_run(run_id, RunStatus.COMPLETED, self.clock(), counts)
        return RetentionReport(as_of, dry_run, counts, tuple(steps), run_id, closed)

    def runs(self, limit: int = 20) -> list[RetentionRun]:
        return self.store.runs(limit)

    # -- the steps ---------------------------------------------------------------------------

    def _batches(self, step: RetentionStep) -> Iterator[list[ExpiredRow]]:
        previous: set[int | str] = set()
        since = None
        while rows := self.store.select(step, self.batch_size, since):
            ids = {r.id for r in rows}
            if ids & previous:  # a store that does not remove what it applied: stop, loudly
                raise RuntimeError(f"retention step {step.label}: rows selected twice")
            previous = ids
            since = rows[-1].order
            yield rows

    def _decide(
        self, step: RetentionStep, rows: Sequence[ExpiredRow]
    ) -> tuple[list[int | str], list[int | str], Counts]:
        delete: list[int | str] = []
        anonymise: list[int | str] = []
        tally: Counter[tuple[str, str, ExpiryAction]] = Counter()
        telemetry = step.table is RetentionTable.TELEMETRY
        stamped = step.kind is StepKind.STAMPED and telemetry
        rule_for = self._stamped.rule_for
        for row in rows:
            rule, action = step.rule, step.action
            if stamped:
                assert row.span is not None
                rule, action = rule_for(row.category, row.purposes, row.span, row.ts)
            if action is ExpiryAction.ANONYMISE and telemetry and not row.sealed:
                anonymise.append(row.id)
            else:  # sealed under the subject's key: cannot be re-keyed, deleted
                action = ExpiryAction.DELETE
                delete.append(row.id)
            tally[(row.category, rule, action)] += 1
        table = step.table.value
        counts: Counts = Counter(
            {
                CountKey(table, category, rule, action): n
                for (category, rule, action), n in tally.items()
            }
        )
        return delete, anonymise, counts

    def _partition_counts(self, step: RetentionStep, partition: ExpiredPartition) -> Counts | None:
        """The counts of dropping a partition whole, as its rows' rules decide them; None when
        a row would be kept (anonymised) or its rule needs each row's own time."""
        tally: Counter[CountKey] = Counter()
        table = step.table.value
        for group in partition.groups:
            if group.category in step.calendar_categories:
                return None
            rule, action = self._stamped.rule_for(group.category, group.purposes, group.span)
            if action is ExpiryAction.ANONYMISE and not group.sealed:
                return None
            tally[CountKey(table, group.category, rule, ExpiryAction.DELETE)] += group.rows
        return tally

    # -- the record --------------------------------------------------------------------------

    def _close_interrupted(self) -> tuple[str, ...]:
        """Runs left ``running``: under the lock, their process is gone. Closed as
        interrupted, with the counts they committed, and audited."""
        closed = []
        for run in self.store.runs(limit=1000, status=RunStatus.RUNNING):
            counts: Counts = Counter(dict(run.counts))
            self._audit(run.id, RunStatus.INTERRUPTED, counts)
            self.store.finish_run(run.id, RunStatus.INTERRUPTED, self.clock(), counts)
            closed.append(run.id)
        return tuple(closed)

    def _audit(self, run_id: str, status: RunStatus, counts: Counts) -> None:
        at = iso(self.clock())

        def record(categories: str, rule: str, form: str, action: str) -> AuditRecord:
            return AuditRecord(
                at=at,
                caller_id=RETENTION_CALLER,
                organisation="",
                role="system",
                purpose=RETENTION_PURPOSE,
                subject_ref="",
                vehicle_ref="",
                categories=categories,
                outcome="allow",
                rule=rule[:100],
                form=form,
                action=action[:120],
            )

        records = [
            record(
                key.category,
                key.rule,
                "vehicle_linked" if key.action is ExpiryAction.ANONYMISE else "",
                f"retention.{key.action.value} rows={n} table={key.table} run={run_id}",
            )
            for key, n in sorted(counts.items())
            if n
        ]
        categories = ",".join(sorted({k.category for k, n in counts.items() if n}))
        records.append(
            record(
                categories,
                f"retention.run.{status.value}",
                "",
                f"retention.run {status.value} rows={sum(counts.values())} run={run_id}",
            )
        )
        self.audit.append(records)
