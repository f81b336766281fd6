"""Concurrent uploads of one process joined into one ingestion call (SPEC I1; docs/scaling.md).

Each HTTP upload is one vehicle's batch. When many arrive at once, running them one
``IngestService.ingest`` each, in as many threads, spends the process on per-batch work (vehicle
and usage lookups, a transaction and a commit per batch) and on threads taking turns at the
interpreter lock, so that every upload waits for all the others. :class:`GroupedIngest` runs one
ingestion at a time per process: an upload that arrives while one runs waits, and the next call
takes every upload waiting by then, in arrival order, as one batch (one transaction), as the MQTT
worker does with its messages. Each upload gets back exactly its own answer: its records numbered
from 0 in statuses, problem paths and quarantine rows (``positions``), its own counts.

Only uploads whose records are all objects naming no other vehicle are joined: each record is
given its upload's VIN (the credential's), and ingestion then attributes it as it would have
alone. Anything else (a record that is not an object, a record ``vin`` that is not the
credential's, records the transport already refused) runs on its own, unchanged. If a joined call
fails, each of its uploads is run again on its own, so one upload's failure is never another's.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from carprivacy.domain.errors import Problem
from carprivacy.services.ingestion.pipeline import IngestResult, IngestService, RecordStatus


@dataclass
class _Upload:
    records: Sequence[Any]
    vin: str
    received_at: datetime
    result: IngestResult | None = None
    error: BaseException | None = None
    done: bool = field(default=False)


def joinable(records: Sequence[Any], vin: str) -> bool:
    """Records that mean the same with the VIN written into each: objects naming no other VIN."""
    return all(type(r) is dict and r.get("vin", vin) == vin for r in records)


class GroupedIngest:
    """HTTP uploads, one ingestion at a time per process, joined when they wait together."""

    def __init__(self, ingest: IngestService, *, source: str = "http", max_records: int = 5000):
        self.service = ingest
        self.source = source
        self.max_records = max_records
        self._cond = threading.Condition()
        self._pending: list[_Upload] = []
        self._busy = False
        self.calls = 0  # ingestion calls made for joined uploads (observability, tests)

    def ingest(
        self,
        records: Sequence[Any],
        *,
        vehicle_vin: str,
        received_at: datetime,
        refused: Mapping[int, Sequence[Problem]] | None = None,
    ) -> IngestResult:
        """``IngestService.ingest`` of one vehicle's upload, answered as if it ran alone."""
        if refused or not records or not joinable(records, vehicle_vin):
            return self.service.ingest(
                records,
                source=self.source,
                vehicle_vin=vehicle_vin,
                received_at=received_at,
                refused=refused,
            )
        upload = _Upload(records, vehicle_vin, received_at)
        with self._cond:
            self._pending.append(upload)
            while not upload.done:
                if self._busy:
                    self._cond.wait()
                    continue
                group = self._take()
                self._busy = True
                self._cond.release()
                try:
                    self._run(group)
                finally:
                    self._cond.acquire()
                    self._busy = False
                    self._cond.notify_all()
        if upload.error is not None:
            raise upload.error
        assert upload.result is not None
        return upload.result

    def _take(self) -> list[_Upload]:
        """The waiting uploads, in arrival order, up to ``max_records`` (at least one)."""
        taken, size = 0, 0
        for upload in self._pending:
            if taken and size + len(upload.records) > self.max_records:
                break
            taken, size = taken + 1, size + len(upload.records)
        group, self._pending = self._pending[:taken], self._pending[taken:]
        return group

    def _run(self, group: list[_Upload]) -> None:
        self.calls += 1
        if len(group) == 1:
            self._alone(group[0])
            return
        records: list[Mapping[str, Any]] = []
        positions: list[int] = []
        for upload in group:
            records.extend(r if "vin" in r else {**r, "vin": upload.vin} for r in upload.records)
            positions.extend(range(len(upload.records)))
        try:
            joined = self.service.ingest(
                records,
                source=self.source,
                vehicle_vin=None,
                received_at=max(u.received_at for u in group),
                positions=positions,
            )
        except Exception:
            for upload in group:  # one upload's failure is never another's
                self._alone(upload)
            return
        start = 0
        for upload in group:
            end = start + len(upload.records)
            upload.result = _part(joined.statuses[start:end], start)
            upload.done = True
            start = end

    def _alone(self, upload: _Upload) -> None:
        try:
            upload.result = self.service.ingest(
                upload.records,
                source=self.source,
                vehicle_vin=upload.vin,
                received_at=upload.received_at,
            )
        except BaseException as exc:  # handed to the upload's own thread
            upload.error = exc
        upload.done = True


def _part(statuses: Sequence[RecordStatus], offset: int) -> IngestResult:
    """One upload's answer out of a joined call's statuses (indexes from 0 again)."""
    mine = [RecordStatus(s.index - offset, s.status, s.errors) for s in statuses]
    return IngestResult(
        accepted=sum(1 for s in mine if s.status == "accepted"),
        rejected=sum(1 for s in mine if s.status == "rejected"),
        statuses=mine,
        duplicates=sum(1 for s in mine if s.status == "duplicate"),
    )
