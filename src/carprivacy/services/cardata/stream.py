"""The CarData stream (SPEC C2, U1-U3; notice section H): vehicle data published to the
stream broker after it is stored, to the identities the rules let receive it, and cut off
within seconds of a change of those rules.

- :meth:`CarDataStream.issued` (the token endpoint, after issuing a token set with
  ``cardata:streaming:read``): the id token becomes the account's stream password; the
  account's older connections are closed (their token is no longer the current one).
- :meth:`CarDataStream.stored` (ingestion, after its commit, never before): the stored
  vehicles and periods are queued; one thread per process reads them back through the gate
  for every identity entitled to that vehicle (the gate decides, releases and audits each
  value under the CarData purpose at that moment) and publishes one message per measured
  moment on ``{gcid}/{vin}`` holding only the identity's descriptors, QoS 1, on the process's
  one publishing connection.
- :meth:`CarDataStream.reconcile` (every ``reconcile_every`` seconds in the server): the broker
  is made to match the rules: an expired token's account is deleted; an account with nothing
  to receive (grant or client revoked, consent withdrawn, restriction, the vehicle sold) is
  disabled, its connections closed; a VIN it may no longer receive is taken off its role and
  its connections closed. So a cut-off takes at most one interval plus a broker round trip.

Which identity may receive what comes from one function (``entitlements``, see
``stream_entitlements.py``), so every source of rights (shares too) is enforced alike.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from carprivacy.domain.cardata_stream import (
    Step,
    StreamCredential,
    StreamEntitlement,
    apply,
    by_username,
    message,
    plan,
    topic,
)
from carprivacy.domain.errors import AccessDeniedError, CarPrivacyError
from carprivacy.domain.telemetry import TelemetryRow
from carprivacy.services.access.gate import Reading
from carprivacy.services.access.telemetry import TelemetryQuery, TelemetryReads
from carprivacy.services.cardata.ports import (
    StreamBroker,
    StreamConnectionLimit,
    StreamCredentialRepository,
    StreamOutlet,
)
from carprivacy.services.cardata.stream_entitlements import EntitlementSource
from carprivacy.services.ports.clock import Clock

log = logging.getLogger(__name__)
TICK = timedelta(microseconds=1)
QUEUE_BATCHES = 10_000  # stored batches waiting to be published per process


@dataclass(frozen=True)
class StoredWindow:
    """What one committed batch stored for one vehicle: the period its values were measured in."""

    vehicle_id: str
    start: datetime
    end: datetime  # inclusive


@dataclass
class StreamCounters:
    published: int = 0
    refused: int = 0  # reads the gate refused (nothing published)
    dropped: int = 0  # stored batches not published: the queue was full
    failed: int = 0  # publish or broker errors


@dataclass
class CarDataStream:
    credentials: StreamCredentialRepository
    entitlements: EntitlementSource
    telemetry: TelemetryReads
    broker: StreamBroker
    outlet: StreamOutlet
    clock: Clock
    reconcile_every: float = 1.0
    connection_limit: StreamConnectionLimit | None = None
    # who may receive which vehicle, reused by the publisher for this long (seconds): each value
    # is still decided by the gate when it is read for a message, at that moment
    entitled_for: float = 0.25
    counters: StreamCounters = field(default_factory=StreamCounters)
    _queue: queue.Queue[list[StoredWindow] | None] = field(
        default_factory=lambda: queue.Queue(QUEUE_BATCHES), init=False
    )
    _publisher: threading.Thread | None = field(default=None, init=False)
    _reconciler: threading.Thread | None = field(default=None, init=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _wake: threading.Event = field(default_factory=threading.Event, init=False)  # a pass now
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _entitled: tuple[float, list[StreamEntitlement]] | None = field(default=None, init=False)

    # -- the token endpoint ------------------------------------------------------------------

    def issued(self, credential: StreamCredential, id_token: str) -> None:
        """``id_token`` is the account's stream password from now on."""
        self.credentials.save_credential(credential)
        try:
            # an account keeps what it may receive (its connections with the older token close);
            # a new one waits, refused, for the reconciler's pass, which this wakes at once
            held = self.broker.held([credential.gcid]).get(credential.gcid)
            self.broker.provision(credential.gcid, id_token, held.vins if held else ())
        except Exception:  # the token set is issued in any case; the stream waits for the next
            self.counters.failed += 1
            log.exception("the stream broker did not take the account's token")
        self._wake.set()

    # -- ingestion ---------------------------------------------------------------------------

    def stored(self, rows: Sequence[TelemetryRow]) -> None:
        """Ingestion's listener, called after the batch's commit: queue what was stored."""
        windows: dict[str, tuple[datetime, datetime]] = {}
        for row in rows:
            start, end = windows.get(row.vehicle_id, (row.ts, row.ts))
            windows[row.vehicle_id] = (min(start, row.ts), max(end, row.ts))
        if not windows:
            return
        try:
            self._queue.put_nowait([StoredWindow(v, s, e) for v, (s, e) in windows.items()])
        except queue.Full:
            self.counters.dropped += 1
            return
        self._start_publisher()

    def publish(self, windows: Sequence[StoredWindow]) -> int:
        """Publish what ``windows`` stored to every identity entitled to it now; the count of
        messages published."""
        by_vehicle = {w.vehicle_id: w for w in windows}
        sent = 0
        for e in self._entitlements():
            if e.vehicle_id not in by_vehicle:
                continue
            w = by_vehicle[e.vehicle_id]
            assert isinstance(e.reading, Reading)
            query = TelemetryQuery(
                vehicle_id=e.vehicle_id,
                subject_id=e.subject_id,
                start=w.start,
                end=w.end + TICK,
                signals=e.descriptors,
            )
            try:
                values = list(self.telemetry.stream(e.reading, query))
            except AccessDeniedError:
                self.counters.refused += 1
                continue
            except CarPrivacyError:  # nothing of it to read (e.g. none of its descriptors)
                continue
            for data in _moments(values):
                self.outlet.publish(topic(e.username, e.vin), message(e.vin, data))
                sent += 1
        self.counters.published += sent
        return sent

    def _entitlements(self) -> list[StreamEntitlement]:
        cached = self._entitled
        if cached is not None and time.monotonic() - cached[0] < self.entitled_for:
            return cached[1]
        found = list(self.entitlements(self.clock(), None))
        self._entitled = (time.monotonic(), found)
        return found

    def _start_publisher(self) -> None:
        with self._lock:
            if self._publisher is None or not self._publisher.is_alive():
                self._publisher = threading.Thread(
                    target=self._publish_loop, name="cardata-stream-publisher", daemon=True
                )
                self._publisher.start()

    def _publish_loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            try:
                self.publish(item)
            except Exception:
                self.counters.failed += 1
                log.exception("a stored batch was not published to the stream")

    def drain(self, timeout: float = 10.0) -> None:
        """Wait until every queued batch is published (tests and benchmarks)."""
        publisher = self._publisher
        if publisher is not None and publisher.is_alive():
            self._queue.put(None)
            publisher.join(timeout)

    # -- the reconciler ----------------------------------------------------------------------

    def reconcile(self) -> list[Step]:
        """One pass: the broker made to match the rules now; the steps taken."""
        now = self.clock()
        credentials = self.credentials.credentials()
        known = {c.gcid for c in credentials}
        held = self.broker.held(known)
        live = {c.gcid for c in credentials if c.live(now)}
        try:
            entitled = list(self.entitlements(now, None))
        except Exception:  # no answer, no right: fail closed (connections close, come back later)
            self.counters.failed += 1
            log.exception("who may receive what is unknown: every stream account is disabled")
            entitled = []
        self._entitled = (time.monotonic(), entitled)
        wanted = {u: v for u, v in by_username(entitled).items() if u in live}
        steps = plan(live, wanted, held)
        if steps:
            self.broker.apply(steps)
            apply(held, steps)
        return steps

    def changed(self, *_: object) -> None:
        """A right ended in this process (e.g. a share revoked): a reconciler pass now."""
        self._wake.set()

    def start(self) -> None:
        """Run the reconciler in a thread of its own until :meth:`stop`."""
        self._stop.clear()
        if self.connection_limit is not None:
            try:
                self.connection_limit.start()
            except Exception:
                self.counters.failed += 1
                log.exception("the stream's connection limit is not watched")
        if self._reconciler is None or not self._reconciler.is_alive():
            self._reconciler = threading.Thread(
                target=self._reconcile_loop, name="cardata-stream-reconciler", daemon=True
            )
            self._reconciler.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self.connection_limit is not None:
            self.connection_limit.stop()
        if self._reconciler is not None:
            self._reconciler.join(10)
            self._reconciler = None
        if self._publisher is not None and self._publisher.is_alive():
            self.drain()
        for connection in (self.outlet, self.broker):
            try:
                connection.close()
            except Exception:
                log.exception("a stream broker connection did not close cleanly")

    def _reconcile_loop(self) -> None:
        ready = False
        while not self._stop.is_set():
            if not ready:
                try:
                    self.broker.setup()
                    ready = True
                except Exception:
                    self.counters.failed += 1
                    log.exception("the stream broker is not set up yet; trying again")
                    self._stop.wait(self.reconcile_every)
                    continue
            try:
                self.reconcile()
            except Exception:
                self.counters.failed += 1
                log.exception("the stream reconciler's pass failed; trying again")
            self._wake.wait(self.reconcile_every)
            self._wake.clear()


def _moments(values: Sequence[dict[str, object]]) -> list[dict[str, dict[str, str | None]]]:
    """Released values grouped by measured moment: one message each, oldest first."""
    out: dict[str, dict[str, dict[str, str | None]]] = {}
    for item in values:
        when = item.get("ts") or item.get("timestamp")
        stamp = _iso(when) if isinstance(when, datetime) else str(when)
        out.setdefault(stamp, {})[str(item.get("signal"))] = {
            "value": _text(item.get("value")),
            "unit": None if item.get("unit") is None else str(item.get("unit")),
            "timestamp": stamp,
        }
    return [out[k] for k in sorted(out)]


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)
