"""In-memory fakes of the retention ports (SPEC L1, L2), over the in-memory telemetry store and
master data: the same selections as the SQL store (``adapters/db/repositories/retention.py``),
evaluated in Python, legal holds included; one ``apply`` is all or nothing; the run lock refuses
a second holder. ``tests/integration/test_retention_store.py`` runs both on the same data."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from typing import Any

from carprivacy.domain.errors import RetentionRunInProgressError
from carprivacy.domain.legal_holds import LegalHold
from carprivacy.domain.retention_run import Counts, RetentionRun, RunStatus
from carprivacy.domain.retention_steps import RetentionStep, RetentionTable, StepKind
from carprivacy.domain.telemetry import TelemetryRow
from carprivacy.services.retention.ports import ExpiredPartition, ExpiredRow
from carprivacy.testing.master import InMemoryMasterData
from carprivacy.testing.telemetry import InMemoryTelemetryRepository


class InMemoryLegalHoldRepository:
    def __init__(self) -> None:
        self.holds: dict[str, LegalHold] = {}

    def add(self, hold: LegalHold) -> None:
        self.holds[hold.id] = hold

    def get(self, hold_id: str) -> LegalHold | None:
        return self.holds.get(hold_id)

    def release(self, hold_id: str, at: datetime, by: str, reason: str) -> bool:
        hold = self.holds.get(hold_id)
        if hold is None or not hold.active:
            return False
        self.holds[hold_id] = replace(hold, released_at=at, released_by=by, release_reason=reason)
        return True

    def list(self, active_only: bool = True) -> list[LegalHold]:
        found = [h for h in self.holds.values() if h.active or not active_only]
        return sorted(found, key=lambda h: (h.created_at, h.id))


class InMemoryRetentionStore:
    def __init__(
        self,
        telemetry: InMemoryTelemetryRepository | None = None,
        master: InMemoryMasterData | None = None,
        holds: InMemoryLegalHoldRepository | None = None,
    ) -> None:
        self.telemetry = telemetry or InMemoryTelemetryRepository()
        self.master = master or InMemoryMasterData()
        self.holds = holds or InMemoryLegalHoldRepository()
        self.run_records: dict[str, RetentionRun] = {}
        self._lock = threading.Lock()
        self.fail_next_apply = False  # a crash before the commit: nothing of the batch

    @contextmanager
    def run_lock(self) -> Iterator[None]:
        if not self._lock.acquire(blocking=False):
            raise RetentionRunInProgressError("another retention run is in progress")
        try:
            yield
        finally:
            self._lock.release()

    # -- the selections ----------------------------------------------------------------------

    def _held(self, subject: str | None, vehicle: str | None, category: str) -> bool:
        return any(h.covers(subject, vehicle, category) for h in self.holds.holds.values())

    def _end_of_life(self, step: RetentionStep, r: TelemetryRow) -> bool:
        vehicle = self.master.vehicles.get(r.vehicle_id)
        eol = vehicle.end_of_life if vehicle is not None else None
        assert step.end_of_life_cutoff is not None
        return (
            r.expires_at is None
            and r.category == step.category
            and eol is not None
            and eol <= step.end_of_life_cutoff
            and (step.ts_expired is None or r.ts in step.ts_expired)
        )

    def _telemetry(self, step: RetentionStep) -> list[tuple[Any, int, ExpiredRow]]:
        found = []
        for key, r in self.telemetry.rows.items():
            if self._held(r.subject_id, r.vehicle_id, r.category):
                continue
            if step.kind is StepKind.STAMPED:
                hit = r.expires_at is not None and r.expires_at <= step.now
                order: Any = r.expires_at
            elif step.kind is StepKind.END_OF_LIFE:
                hit, order = self._end_of_life(step, r), r.ts
            else:
                assert step.ts_expired is not None
                hit = (
                    r.subject_id is not None
                    and r.category == step.category
                    and r.ts in step.ts_expired
                    and (r.expires_at is None or r.expires_at > step.now)
                    and not (step.excluded is not None and self._end_of_life(step.excluded, r))
                )
                order = r.ts
            if hit:
                ident = self.telemetry.ids[key]
                span = None if r.expires_at is None else r.expires_at - r.ts
                row = ExpiredRow(
                    ident, r.category, r.purposes, span, r.ts, r.value_ciphertext is not None
                )
                found.append((order, ident, row))
        return found

    def _rows(self, step: RetentionStep) -> list[tuple[Any, Any, ExpiredRow]]:
        if step.table is RetentionTable.TELEMETRY:
            return self._telemetry(step)
        if step.table is RetentionTable.QUARANTINE:
            found: list[tuple[Any, Any, ExpiredRow]] = []
            for q in self.telemetry.quarantined:
                held = any(
                    h.active
                    and (h.subject_id is None or f"subject:{h.subject_id}" == q.key_owner)
                    and (h.vehicle_id is None or h.vehicle_id == q.vehicle_id)
                    for h in self.holds.holds.values()
                )
                if q.expires_at <= step.now and not held:
                    found.append((q.expires_at, id(q), ExpiredRow(id(q), "quarantine")))
            return found
        if step.table is RetentionTable.CONTRACTS:
            found = []
            for c in self.master.contracts.values():
                anchors = {"contract_end": c.end, "collected": c.created_at}
                if self._anchored(step, anchors) and not self._held(
                    c.customer_id, c.vehicle_id, "contract"
                ):
                    found.append((c.end, c.id, ExpiredRow(c.id, "contract")))
            return found
        found = []
        for p in self.master.payments.values():
            contract = self.master.contracts.get(p.contract_id or "")
            vehicle = contract.vehicle_id if contract is not None else None
            held = any(
                h.active
                and (h.subject_id is None or h.subject_id == p.customer_id)
                and (h.vehicle_id is None or h.vehicle_id == vehicle)
                and (h.category is None or h.category == "financial_transactions")
                for h in self.holds.holds.values()
            )
            anchors = {"transaction_date": p.booked_at, "collected": p.created_at}
            if self._anchored(step, anchors) and not held:
                found.append((p.booked_at, p.id, ExpiredRow(p.id, "financial_transactions")))
        return found

    @staticmethod
    def _anchored(step: RetentionStep, anchors: dict[str, datetime | None]) -> bool:
        for anchor, expired in step.anchors:
            value = anchors[anchor.value]
            if value is None or value not in expired:
                return False
        return True

    def count(self, step: RetentionStep) -> int:
        return len(self._rows(step))

    def select(self, step: RetentionStep, limit: int, since: Any = None) -> list[ExpiredRow]:
        found = sorted(self._rows(step), key=lambda f: (f[0], f[1]))
        rows = [row._replace(order=o) for o, _i, row in found if since is None or o >= since]
        return rows[:limit]

    def stream(self, step: RetentionStep, batch: int) -> Iterator[list[ExpiredRow]]:
        rows = [row for _o, _i, row in sorted(self._rows(step), key=lambda f: f[1])]
        for start in range(0, len(rows), batch):
            yield rows[start : start + batch]

    # -- time partitions: none in memory ------------------------------------------------------

    def prepare(self, now: datetime) -> None:
        return None

    def expired_partitions(self, step: RetentionStep) -> list[ExpiredPartition]:
        return []

    def drop_partition(
        self,
        run_id: str,
        step: RetentionStep,
        partition: ExpiredPartition,
        counts: Counts,
        at: datetime,
    ) -> bool:
        raise AssertionError("the in-memory store has no partitions")

    # -- the changes -------------------------------------------------------------------------

    def apply(
        self,
        run_id: str,
        step: RetentionStep,
        delete: Sequence[int | str],
        anonymise: Sequence[int | str],
        counts: Counts,
        at: datetime,
    ) -> None:
        if self.fail_next_apply:
            self.fail_next_apply = False
            raise ConnectionError("store unavailable")
        gone, masked = set(delete), set(anonymise)
        if step.table is RetentionTable.TELEMETRY:
            keys = {ident: key for key, ident in self.telemetry.ids.items()}
            for ident in gone:
                key = keys[int(ident)]
                del self.telemetry.rows[key]
                del self.telemetry.ids[key]
            for ident in masked:
                key = keys[int(ident)]
                r = self.telemetry.rows[key]
                self.telemetry.rows[key] = r._replace(
                    subject_id=None,
                    key_owner=f"vehicle:{r.vehicle_id}",
                    expires_at=None if step.kind is StepKind.STAMPED else r.expires_at,
                )
        elif step.table is RetentionTable.QUARANTINE:
            self.telemetry.quarantined = [
                q for q in self.telemetry.quarantined if id(q) not in gone
            ]
        elif step.table is RetentionTable.CONTRACTS:
            for pid, p in list(self.master.payments.items()):
                if p.contract_id in gone:
                    self.master.payments[pid] = replace(p, contract_id=None)
            for ident in gone:
                del self.master.contracts[str(ident)]
        else:
            for ident in gone:
                del self.master.payments[str(ident)]
        run = self.run_records[run_id]
        self.run_records[run_id] = replace(run, counts=tuple(sorted(counts.items())))

    # -- the record --------------------------------------------------------------------------

    def start_run(self, run: RetentionRun) -> None:
        self.run_records[run.id] = run

    def finish_run(self, run_id: str, status: RunStatus, at: datetime, counts: Counts) -> None:
        run = self.run_records[run_id]
        self.run_records[run_id] = replace(
            run, status=status, finished_at=at, counts=tuple(sorted(Counter(counts).items()))
        )

    def runs(self, limit: int = 20, status: RunStatus | None = None) -> list[RetentionRun]:
        found = [r for r in self.run_records.values() if status is None or r.status is status]
        return sorted(found, key=lambda r: r.started_at, reverse=True)[:limit]
