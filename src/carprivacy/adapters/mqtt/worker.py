"""The MQTT ingestion worker (SPEC I1, I3): acknowledged = durable.

How a message travels:

1. paho's network thread receives a QoS 1 PUBLISH and puts it on a local queue (``manual_ack=True``:
   paho does NOT acknowledge it).
2. ``run`` (the caller's thread) collects a batch: up to ``batch_size`` messages or ``batch_ms``
   after the first one, parses each, quarantines the malformed ones and calls
   ``IngestService.ingest`` ONCE for all records of the batch (one transaction).
3. Only after that returns does it send the PUBACKs. A worker killed before step 3 leaves the
   messages unacknowledged in its persistent session (``clean_start=False`` + session expiry),
   so the broker sends them again; the store deduplicates on insert: each record is stored once.

A PUBACK is only sent on the connection that received the message: after a reconnect the broker
resends every unacknowledged message of the session, and those copies are the ones acknowledged.
Several workers share one subscription through MQTT 5 shared subscriptions (``$share/<group>/...``).
"""

from __future__ import annotations

import logging
import queue
import ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from carprivacy.adapters.db.engine import STORE_UNAVAILABLE
from carprivacy.adapters.mqtt.message import ParsedMessage, TopicPattern, parse_message
from carprivacy.domain.errors import Problem, StoreUnavailableError

log = logging.getLogger(__name__)

SOURCE = "mqtt"


class IngestOutcome(Protocol):
    @property
    def accepted(self) -> int: ...

    @property
    def rejected(self) -> int: ...


class TelemetrySink(Protocol):
    """What the worker needs of ``services.ingestion.pipeline.IngestService``."""

    def ingest(
        self,
        records: Sequence[Mapping[str, Any]],
        *,
        source: str,
        vehicle_vin: str | None,
        received_at: datetime,
        positions: Sequence[int] | None = None,
    ) -> IngestOutcome: ...

    def quarantine_message(
        self,
        raw: bytes,
        problem: Problem,
        *,
        source: str,
        vehicle_vin: str | None,
        received_at: datetime,
    ) -> None: ...


@dataclass(frozen=True)
class MqttWorkerConfig:
    host: str = "127.0.0.1"
    port: int = 1883
    topic: str = "vehicles/+/telemetry"
    group: str | None = "carprivacy-ingest"
    client_id: str = "carprivacy-ingest"
    batch_size: int = 500
    batch_ms: int = 200
    session_expiry_s: int = 86_400
    keepalive_s: int = 30
    reconnect_max_delay_s: int = 10
    username: str | None = None
    password: str | None = None
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    max_payload_bytes: int = 1_048_576
    inflight: int = 65_535

    def __post_init__(self) -> None:
        if not 1 <= self.inflight <= 65_535:
            raise ValueError("inflight: [range] between 1 and 65535 (MQTT 5 Receive Maximum)")
        if not 1 <= self.batch_size <= 10_000:
            raise ValueError("batch_size: [range] between 1 and 10000")
        if self.batch_ms < 1:
            raise ValueError("batch_ms: [range] at least 1")
        if not 1 <= self.session_expiry_s <= 4_294_967_295:
            # 0 would end the session at every disconnect: the broker would drop its queue
            raise ValueError(
                "session_expiry_s: [range] between 1 and 4294967295 seconds (0 ends the session, "
                "and the broker drops its queue, at every disconnect)"
            )
        if not 2 <= self.keepalive_s <= 65_535:
            raise ValueError("keepalive_s: [range] between 2 and 65535 seconds")
        if not self.client_id or len(self.client_id) > 128:
            raise ValueError("client_id: [length] 1 to 128 characters")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert: [together] a client certificate needs its key")
        if self.password is not None and self.username is None:
            raise ValueError("password: [together] a password needs a username")

    @property
    def receive_maximum(self) -> int:
        """The in-flight window (MQTT 5 Receive Maximum): unacknowledged messages the broker may
        push to this worker. Kept at the protocol's maximum by default, because Mosquitto holds
        only ``max_queued_messages`` (default 1000) more per client and DROPS the rest: a burst
        larger than window + queue would be lost at the broker, before the worker ever sees it."""
        return self.inflight


@dataclass(frozen=True)
class Delivery:
    mid: int
    qos: int
    topic: str
    payload: bytes
    received_at: datetime
    generation: int


@dataclass
class WorkerStats:
    messages: int = 0
    batches: int = 0
    accepted: int = 0
    rejected: int = 0
    quarantined: int = 0
    acked: int = 0
    connects: int = 0
    failures: int = 0

    def summary(self) -> str:
        return (
            f"messages={self.messages} batches={self.batches} accepted={self.accepted} "
            f"rejected={self.rejected} quarantined={self.quarantined} acked={self.acked} "
            f"connects={self.connects} store_failures={self.failures}"
        )


def is_transient(exc: BaseException) -> bool:
    """A failure of the store itself (connection, lock, timeout), not of one message's content.

    Such a message is never quarantined and acknowledged: it waits for the store to come back.
    """
    return isinstance(exc, (*STORE_UNAVAILABLE, TimeoutError, ConnectionError))


@dataclass
class _Connection:
    generation: int = 0
    connected: bool = False
    subscribed: threading.Event = field(default_factory=threading.Event)
    refused: str | None = None


class MqttIngestWorker:
    def __init__(
        self,
        config: MqttWorkerConfig,
        sink: TelemetrySink,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_batch: Callable[[WorkerStats], None] | None = None,
    ) -> None:
        self.config = config
        self.sink = sink
        self.clock = clock
        self.on_batch = on_batch
        # called (network thread) at every SUBACK; on a resumed session the broker may first send
        # a whole backlog, so this can come long after the connection
        self.on_subscribed: Callable[[str], None] | None = None
        self.pattern = TopicPattern.parse(config.topic)
        self.subscription = self.pattern.subscription(config.group)
        self.stats = WorkerStats()
        self._inbox: queue.Queue[Delivery] = queue.Queue()
        self._conn = _Connection()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._client = self._make_client()

    # -- connection (paho's network thread) ------------------------------------------------------

    def _make_client(self) -> mqtt.Client:
        cfg = self.config
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=cfg.client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        if cfg.username is not None:
            client.username_pw_set(cfg.username, cfg.password)
        if cfg.tls_ca is not None or cfg.tls_cert is not None:
            client.tls_set(
                ca_certs=str(cfg.tls_ca) if cfg.tls_ca else None,
                certfile=str(cfg.tls_cert) if cfg.tls_cert else None,
                keyfile=str(cfg.tls_key) if cfg.tls_key else None,
                cert_reqs=ssl.CERT_REQUIRED,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        client.reconnect_delay_set(min_delay=1, max_delay=cfg.reconnect_max_delay_s)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        return client

    def _connect_properties(self) -> Properties:
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = self.config.session_expiry_s
        props.ReceiveMaximum = self.config.receive_maximum
        return props

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        if reason.is_failure:
            with self._lock:
                self._conn.refused = str(reason)
            log.error("MQTT broker refused the connection: %s", reason)
            return
        with self._lock:
            reconnect = self._conn.generation > 0
            self._conn.generation += 1
            self._conn.connected = True
            self._conn.refused = None
            self.stats.connects += 1
        if reconnect and not flags.session_present:
            # the broker forgot us (session expired, or restarted without persistence): what was
            # published meanwhile for this worker is gone, although the cars were acknowledged
            log.error(
                "MQTT broker kept no session for %s: messages published while it was away may "
                "be lost (session expiry %d s; broker persistence on?)",
                self.config.client_id,
                self.config.session_expiry_s,
            )
        else:
            log.info("connected to MQTT broker (session present: %s)", flags.session_present)
        # Subscribing again on a resumed session is harmless and covers an expired one.
        client.subscribe(self.subscription, qos=1)

    def _on_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any, props: Any
    ) -> None:
        if any(r.is_failure for r in reasons):
            log.error("MQTT subscription refused: %s", [str(r) for r in reasons])
            with self._lock:
                self._conn.refused = "subscription refused"
            return
        self._conn.subscribed.set()
        if self.on_subscribed is not None:
            self.on_subscribed(self.subscription)

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        with self._lock:
            self._conn.connected = False
        self._conn.subscribed.clear()
        if not self._stop.is_set():
            log.warning("MQTT connection lost (%s); reconnecting", reason)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            generation = self._conn.generation
        self._inbox.put(
            Delivery(
                mid=message.mid,
                qos=message.qos,
                topic=message.topic,
                payload=bytes(message.payload),
                received_at=self.clock(),
                generation=generation,
            )
        )

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Connect (retrying in the background until the broker answers) and subscribe."""
        cfg = self.config
        self._client.connect_async(
            cfg.host,
            cfg.port,
            keepalive=cfg.keepalive_s,
            clean_start=False,
            properties=self._connect_properties(),
        )
        self._client.loop_start()

    def wait_subscribed(self, timeout: float) -> bool:
        return self._conn.subscribed.wait(timeout)

    @property
    def refused(self) -> str | None:
        with self._lock:
            return self._conn.refused

    def request_stop(self) -> None:
        """Graceful stop (SIGTERM): finish the batch in hand, acknowledge it, then leave."""
        self._stop.set()

    def close(self) -> None:
        self._stop.set()
        self._client.disconnect()
        self._client.loop_stop()

    def run(self) -> WorkerStats:
        """Process batches until ``request_stop``; unfinished messages stay unacknowledged."""
        try:
            while not self._stop.is_set():
                batch = self._collect()
                if batch:
                    self._process(batch)
        finally:
            self.close()
        return self.stats

    # -- batching ------------------------------------------------------------------------------

    def _collect(self) -> list[Delivery]:
        try:
            first = self._inbox.get(timeout=0.1)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.config.batch_ms / 1000
        while len(batch) < self.config.batch_size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                batch.append(self._inbox.get(timeout=remaining))
            except queue.Empty:
                break
        return batch

    def _process(self, batch: list[Delivery]) -> None:
        delay = 0.5
        pending = batch
        while pending:
            try:
                self._commit(pending)
                pending = []
            except StoreUnavailableError as exc:
                self.stats.failures += 1
                pending = exc.args[0] if exc.args else pending
                log.error("store unavailable; %d messages wait unacknowledged", len(pending))
                if self._stop.wait(delay):
                    return  # stopping: the broker redelivers them to the next session
                delay = min(delay * 2, 10.0)
        self.stats.batches += 1
        if self.on_batch is not None:
            self.on_batch(self.stats)

    def _commit(self, batch: list[Delivery]) -> None:
        """Commit and ack a batch; StoreUnavailableError(remaining) when the store is down."""
        parsed: list[tuple[Delivery, ParsedMessage | Problem]] = [
            (
                d,
                parse_message(
                    d.topic, d.payload, self.pattern, max_bytes=self.config.max_payload_bytes
                ),
            )
            for d in batch
        ]
        good = [(d, p) for d, p in parsed if isinstance(p, ParsedMessage)]
        bad = [(d, p) for d, p in parsed if isinstance(p, Problem)]
        records = [r for _, p in good for r in p.records]
        # problems and quarantine rows number a record within its own message
        positions = [i for _, p in good for i in range(len(p.records))]
        done: list[Delivery] = []
        try:
            if records:
                self._ingest(records, good[-1][0].received_at, positions)
            done.extend(d for d, _ in good)
        except Exception:
            log.exception("batch ingest failed; retrying message by message")
            for index, (d, p) in enumerate(good):
                try:
                    self._ingest(p.records, d.received_at)
                except Exception as exc:
                    if is_transient(exc):
                        # the database, not this message: acknowledge nothing more, retry later
                        self._ack(done)
                        remaining = [x for x, _ in good[index:]] + [x for x, _ in bad]
                        raise StoreUnavailableError(remaining) from exc
                    problem = Problem("message", "ingest_failed", type(exc).__name__)
                    try:
                        self._quarantine(d, problem, p.vin)
                    except Exception as exc2:
                        self._ack(done)
                        remaining = [x for x, _ in good[index:]] + [x for x, _ in bad]
                        raise StoreUnavailableError(remaining) from exc2
                done.append(d)
        for index, (d, problem) in enumerate(bad):
            try:
                # a topic that names no vehicle (problem path "topic") names no key owner either
                vin = None if problem.path == "topic" else self.pattern.vin_of(d.topic)
                self._quarantine(d, problem, vin)
            except Exception as exc:
                self._ack(done)
                raise StoreUnavailableError([x for x, _ in bad[index:]]) from exc
            done.append(d)
        self._ack(done)

    def _ingest(
        self,
        records: list[dict[str, Any]],
        received_at: datetime,
        positions: Sequence[int] | None = None,
    ) -> None:
        result = self.sink.ingest(
            records,
            source=SOURCE,
            vehicle_vin=None,
            received_at=received_at,
            positions=positions,
        )
        self.stats.accepted += result.accepted
        self.stats.rejected += result.rejected

    def _quarantine(self, d: Delivery, problem: Problem, vin: str | None) -> None:
        self.sink.quarantine_message(
            d.payload, problem, source=SOURCE, vehicle_vin=vin, received_at=d.received_at
        )
        self.stats.quarantined += 1
        log.warning("message quarantined: %s", problem)

    def _ack(self, deliveries: Sequence[Delivery]) -> None:
        with self._lock:
            generation, connected = self._conn.generation, self._conn.connected
        for d in deliveries:
            self.stats.messages += 1
            if d.qos == 0:
                continue
            if d.generation != generation or not connected:
                continue  # the broker resends it on the new connection; that copy gets the ack
            self._client.ack(d.mid, d.qos)
            self.stats.acked += 1
