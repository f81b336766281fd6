"""Concurrent uploads of one process joined into ingestion turns (SPEC I1, U1; docs/scaling.md).

Each HTTP upload is one vehicle's batch, sent with that vehicle's credential. Running them one
``IngestService.ingest`` each, in as many threads, spends the process on per-batch work (vehicle
and usage lookups, a transaction and a commit per batch) and on threads taking turns at the
interpreter lock, so that every upload waits for all the others. :class:`GroupedIngest` runs
**turns** on one thread of its own, one turn at a time per process: a turn takes the uploads
waiting by then, in arrival order, up to ``turn_records`` records (at least one upload, so a late
arrival waits behind a bounded turn, not a huge one), looks up all their credentials in one query,
and stores all the authenticated uploads that can be joined as one batch (one transaction), as
the MQTT worker does with its messages. The event loop only queues an upload and is handed its
answer: no thread per request, one wake-up per turn.

Each upload gets back exactly what it would have got alone: 401 for a credential that is not (or
no longer) valid, before anything about its body; then the refusal of its body, if the transport
found one; else its records numbered from 0 in statuses, problem paths and quarantine rows
(``positions``), its own counts, and the answer only once its records are committed.

Only uploads whose records are all objects naming no other vehicle are joined: each record is
given its upload's VIN (the credential's), and ingestion then attributes it as it would have
alone. Anything else (a record that is not an object, a record ``vin`` that is not the
credential's, records the transport already refused) runs on its own in the same turn,
unchanged. If a joined call fails, each of its uploads is run again on its own, so one upload's
failure is never another's.

**Backpressure**: at most ``queue_records`` records wait per process. An upload that would pass
that is refused at once with :class:`IngestBusyError` (503 with ``Retry-After``: the seconds the
queue ahead is expected to take at the rate the last turns ran), nothing of it stored, instead of
waiting behind an ever longer queue. An upload is always taken when nothing waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from carprivacy.domain.errors import AuthenticationError, IngestBusyError, Problem
from carprivacy.services.ingestion.pipeline import IngestResult, IngestService, RecordStatus
from carprivacy.services.ingestion.vehicle_credentials import (
    VehicleCredentialService,
    check_form,
)

TURN_RECORDS = 2000
QUEUE_RECORDS = 20_000
IDLE_SECONDS = 5.0  # the turn thread ends after this long without uploads (started again on one)


@dataclass(eq=False)
class _Upload:
    records: Sequence[Any]
    received_at: datetime
    token: str | None = None  # authenticated in the turn; None: ``vin`` is already known
    vin: str | None = None
    refused: Mapping[int, Sequence[Problem]] | None = None
    refusal: BaseException | None = None  # the transport refused the body: answered after 401
    loop: asyncio.AbstractEventLoop | None = None
    future: asyncio.Future[IngestResult] | None = None
    result: IngestResult | None = None
    error: BaseException | None = None
    done: bool = field(default=False)

    @property
    def size(self) -> int:
        return max(1, len(self.records))


def joinable(records: Sequence[Any], vin: str) -> bool:
    """Records that mean the same with the VIN written into each: objects naming no other VIN."""
    return all(type(r) is dict and r.get("vin", vin) == vin for r in records)


class GroupedIngest:
    """HTTP uploads, one ingestion turn at a time per process, joined when they wait together."""

    def __init__(
        self,
        ingest: IngestService,
        credentials: VehicleCredentialService | None = None,
        *,
        source: str = "http",
        turn_records: int = TURN_RECORDS,
        queue_records: int = QUEUE_RECORDS,
        idle_seconds: float = IDLE_SECONDS,
    ) -> None:
        if turn_records < 1 or queue_records < 1:
            raise ValueError("turn_records and queue_records must be at least 1")
        self.service = ingest
        self.credentials = credentials
        self.source = source
        self.turn_records = turn_records
        self.queue_records = queue_records
        self.idle_seconds = idle_seconds
        self._cond = threading.Condition()
        self._pending: list[_Upload] = []
        self._queued = 0  # records waiting in ``_pending``
        self._worker: threading.Thread | None = None
        self._rate = 0.0  # records per second of the last turns (0: none measured yet)
        self.calls = 0  # ingestion calls made for joined uploads (observability, tests)
        self.turns: deque[int] = deque(maxlen=1000)  # uploads per turn (observability)

    async def ingest(
        self,
        records: Sequence[Any],
        *,
        received_at: datetime,
        token: str | None = None,
        vehicle_vin: str | None = None,
        refused: Mapping[int, Sequence[Problem]] | None = None,
        refusal: BaseException | None = None,
    ) -> IngestResult:
        """``IngestService.ingest`` of one vehicle's upload, answered as if it ran alone.

        The vehicle is the holder of ``token`` (AuthenticationError if it is not a live vehicle
        credential), or ``vehicle_vin`` when the caller authenticated it. ``refusal``: the
        transport could not read the body; raised once the credential is known to be good.
        IngestBusyError: the queue is full, nothing was taken."""
        if (token is None) == (vehicle_vin is None):
            raise ValueError("give token or vehicle_vin")
        if token is not None:
            if self.credentials is None:
                raise ValueError("token given, but no credential service")
            check_form(token)  # refused without a lookup
        loop = asyncio.get_running_loop()
        upload = _Upload(
            records,
            received_at,
            token=token,
            vin=vehicle_vin,
            refused=refused,
            refusal=refusal,
            loop=loop,
            future=loop.create_future(),
        )
        self._enqueue(upload)
        assert upload.future is not None
        return await upload.future

    # -- the queue (any thread) ------------------------------------------------------------------
    def _enqueue(self, upload: _Upload) -> None:
        with self._cond:
            if self._pending and self._queued + upload.size > self.queue_records:
                raise IngestBusyError(self._queued, self._retry_after())
            self._pending.append(upload)
            self._queued += upload.size
            if self._worker is None:
                self._worker = threading.Thread(
                    target=self._work, name="carprivacy-ingest-turns", daemon=True
                )
                self._worker.start()
            else:
                self._cond.notify()

    def _retry_after(self) -> int:
        """Whole seconds the queue ahead takes at the measured rate (1 to 60)."""
        if self._rate <= 0:
            return 1
        return min(60, max(1, math.ceil(self._queued / self._rate)))

    def _take(self) -> list[_Upload]:
        """The waiting uploads, in arrival order, up to ``turn_records`` (at least one)."""
        taken, size = 0, 0
        for upload in self._pending:
            if taken and size + upload.size > self.turn_records:
                break
            taken, size = taken + 1, size + upload.size
        group, self._pending = self._pending[:taken], self._pending[taken:]
        self._queued -= size
        return group

    # -- the turns (the turn thread) -------------------------------------------------------------
    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._pending:
                    if not self._cond.wait(self.idle_seconds) and not self._pending:
                        self._worker = None
                        return
                group = self._take()
            started = time.perf_counter()
            try:
                self._run(group)
            except BaseException as exc:  # never leave a request without its answer
                for upload in group:
                    if not upload.done:
                        _settle(upload, error=exc)
            self._observe(sum(u.size for u in group), time.perf_counter() - started)
            self.turns.append(len(group))
            _deliver(group)

    def _observe(self, records: int, seconds: float) -> None:
        rate = records / max(seconds, 1e-6)
        self._rate = rate if self._rate <= 0 else 0.7 * self._rate + 0.3 * rate

    def _run(self, group: list[_Upload]) -> None:
        """Every upload of ``group`` gets its result or its error (this never raises)."""
        self._authenticate(group)
        ready = [u for u in group if not u.done]
        joined = [
            u
            for u in ready
            if u.records and not u.refused and u.vin is not None and joinable(u.records, u.vin)
        ]
        if len(joined) > 1:
            self._joined(joined)
        for upload in ready:
            if not upload.done:
                self._alone(upload)

    def _authenticate(self, group: list[_Upload]) -> None:
        tokens = {u.token for u in group if u.token is not None}
        if tokens:
            assert self.credentials is not None
            try:
                vins = self.credentials.authenticate_many(tokens)
            except Exception as exc:  # as each would have met it alone
                vins = {}
                for upload in group:
                    if upload.token is not None:
                        _settle(upload, error=exc)
        for upload in group:
            if upload.done:
                continue
            if upload.token is not None:
                upload.vin = vins.get(upload.token)
                if upload.vin is None:
                    refused = AuthenticationError("the vehicle credential is not valid")
                    _settle(upload, error=refused)
                    continue
            if upload.refusal is not None:
                _settle(upload, error=upload.refusal)

    def _joined(self, group: list[_Upload]) -> None:
        self.calls += 1
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
            return  # each is run again on its own: one upload's failure is never another's
        start = 0
        for upload in group:
            end = start + len(upload.records)
            _settle(upload, result=_part(joined.statuses[start:end], start))
            start = end

    def _alone(self, upload: _Upload) -> None:
        try:
            result = self.service.ingest(
                upload.records,
                source=self.source,
                vehicle_vin=upload.vin,
                received_at=upload.received_at,
                refused=upload.refused,
            )
        except BaseException as exc:  # handed to the upload's own request
            _settle(upload, error=exc)
            return
        _settle(upload, result=result)


def _settle(
    upload: _Upload, *, result: IngestResult | None = None, error: BaseException | None = None
) -> None:
    upload.result, upload.error, upload.done = result, error, True


def _deliver(group: list[_Upload]) -> None:
    """Hand each upload its answer on its own event loop: one wake-up per loop and turn."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Upload]] = {}
    for upload in group:
        if upload.loop is not None:
            by_loop.setdefault(upload.loop, []).append(upload)
    for loop, uploads in by_loop.items():
        # a closed loop: nobody waits for these answers any more
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_answer, uploads)


def _answer(uploads: list[_Upload]) -> None:
    for upload in uploads:
        future = upload.future
        if future is None or future.done():  # the request went away (cancelled)
            continue
        if upload.error is not None:
            future.set_exception(upload.error)
        else:
            assert upload.result is not None
            future.set_result(upload.result)


def _part(statuses: Sequence[RecordStatus], offset: int) -> IngestResult:
    """One upload's answer out of a joined call's statuses (indexes from 0 again)."""
    mine = [RecordStatus(s.index - offset, s.status, s.errors) for s in statuses]
    return IngestResult(
        accepted=sum(1 for s in mine if s.status == "accepted"),
        rejected=sum(1 for s in mine if s.status == "rejected"),
        statuses=mine,
        duplicates=sum(1 for s in mine if s.status == "duplicate"),
    )
