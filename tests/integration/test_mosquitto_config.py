"""The shipped Mosquitto configuration holds a stopped worker's backlog (SPEC I1, I3).

Mosquitto acknowledges a QoS 1 message to the publisher when it has queued it, and drops what does
not fit the subscriber's queue ("Outgoing messages are being dropped"). With the stock limit (1,000
messages per client, counted over everything an offline session holds) a worker that is away
during a burst loses acknowledged data; deploy/mosquitto/*.conf raise the limits, bound them by
bytes and persist sessions across a broker restart.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from tests.conftest import _unavailable
from tests.integration.mqtt_support import base_config, running_worker, unique, wait_until

from carprivacy.testing.ingest import InMemoryIngestService
from carprivacy.testing.mosquitto import (
    CI_CONFIG,
    PRODUCTION_CONFIG,
    MosquittoProcess,
    config_settings,
    mosquitto_binary,
)

QUEUE_AND_SESSION = (
    "max_queued_messages",
    "max_queued_bytes",
    "max_inflight_messages",
    "max_inflight_bytes",
    "queue_qos0_messages",
    "max_packet_size",
    "persistence",
    "autosave_interval",
    "autosave_on_changes",
    "persistent_client_expiration",
)
BURST = 3_000  # three times the stock queue limit


def test_the_ci_configuration_has_the_production_queue_and_session_settings() -> None:
    production, ci = config_settings(PRODUCTION_CONFIG), config_settings(CI_CONFIG)
    for name in QUEUE_AND_SESSION:
        assert name in production, name
        assert production[name] == ci[name], name


def test_the_production_configuration_holds_a_backlog_and_admits_no_stranger() -> None:
    s = config_settings(PRODUCTION_CONFIG)
    assert int(s["max_queued_messages"][0]) >= 1_000_000  # not the stock 1,000
    assert int(s["max_queued_bytes"][0]) > 0  # bounded (0 would mean unbounded memory)
    assert s["persistence"] == ["true"]
    assert "memory_limit" not in s  # reaching it drops acknowledged messages
    assert int(s["autosave_interval"][0]) <= 60
    assert s["allow_anonymous"] == ["false"]
    assert s["listener"] == ["8883"] and "certfile" in s and "keyfile" in s
    assert "password_file" in s and "acl_file" in s


class Subscriber:
    """A persistent MQTT 5 session (clean start off, session expiry) with QoS 1."""

    def __init__(self, port: int, topic: str) -> None:
        self.port, self.topic = port, topic
        self.client_id = f"sub-{uuid.uuid4().hex[:10]}"
        self.received: list[bytes] = []
        self.lock = threading.Lock()

    def _client(self) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=mqtt.MQTTv5
        )

        def on_message(c: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
            with self.lock:
                self.received.append(bytes(message.payload))

        client.on_message = on_message
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 300
        props.ReceiveMaximum = 65_535
        client.connect("127.0.0.1", self.port, clean_start=False, properties=props)
        return client

    def subscribe_and_leave(self) -> None:
        client = self._client()
        client.loop_start()
        client.subscribe(self.topic, qos=1)[1]
        time.sleep(0.3)  # the SUBACK
        client.disconnect()
        client.loop_stop()

    def come_back_and_drain(self, expected: int, quiet_s: float = 1.5) -> set[bytes]:
        client = self._client()
        client.loop_start()
        deadline = time.monotonic() + 30
        last, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            with self.lock:
                n = len(self.received)
            if n >= expected and time.monotonic() - since > 0.3:
                break
            if n != last:
                last, since = n, time.monotonic()
            elif time.monotonic() - since > quiet_s:
                break
            time.sleep(0.05)
        client.disconnect()
        client.loop_stop()
        with self.lock:
            return set(self.received)


def publish_acknowledged(port: int, topic: str, count: int) -> set[bytes]:
    """Publish ``count`` QoS 1 messages; the payloads the broker acknowledged (PUBACK)."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:10]}", protocol=mqtt.MQTTv5
    )
    client.max_inflight_messages_set(500)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    sent = [(f"m{i:06d}".encode(), client.publish(topic, f"m{i:06d}", qos=1)) for i in range(count)]
    for _, info in sent:
        info.wait_for_publish(30)
    client.disconnect()
    client.loop_stop()
    return {payload for payload, info in sent if info.is_published()}


def broker(directory: Path, source: Path) -> MosquittoProcess:
    if mosquitto_binary() is None:
        _unavailable("mosquitto")
    process = MosquittoProcess(directory, source)
    process.start()
    return process


@pytest.mark.mqtt
def test_the_stock_configuration_drops_acknowledged_messages_of_an_offline_session(
    tmp_path: Path,
) -> None:
    """The defect the shipped configuration removes, shown on the stock settings."""
    stock = tmp_path / "stock.conf"
    stock.write_text("listener 1883\nallow_anonymous true\n", encoding="utf-8")
    process = broker(tmp_path / "stock", stock)
    try:
        sub = Subscriber(process.port, "stock/+/t")
        sub.subscribe_and_leave()
        acked = publish_acknowledged(process.port, "stock/x/t", BURST)
        got = sub.come_back_and_drain(len(acked))
    finally:
        process.stop()
    assert len(acked) == BURST  # the broker acknowledged every one to the publisher
    assert len(got) <= 1_000 < len(acked)  # and kept only its stock queue limit
    assert process.dropped() >= 1


@pytest.mark.mqtt
def test_the_shipped_configuration_keeps_an_offline_sessions_whole_backlog(
    tmp_path: Path,
) -> None:
    process = broker(tmp_path / "ci", CI_CONFIG)
    try:
        sub = Subscriber(process.port, "ci/+/t")
        sub.subscribe_and_leave()
        acked = publish_acknowledged(process.port, "ci/x/t", BURST)
        got = sub.come_back_and_drain(len(acked))
    finally:
        process.stop()
    assert len(acked) == BURST
    assert got == acked
    assert process.dropped() == 0


@pytest.mark.mqtt
def test_the_backlog_survives_a_clean_broker_restart(tmp_path: Path) -> None:
    """persistence true: a stopped (SIGTERM) and restarted broker still holds the session."""
    process = broker(tmp_path / "restart", CI_CONFIG)
    try:
        sub = Subscriber(process.port, "rs/+/t")
        sub.subscribe_and_leave()
        acked = publish_acknowledged(process.port, "rs/x/t", BURST)
        process.stop()
        assert (tmp_path / "restart" / "mosquitto.db").exists()
        process.start()
        got = sub.come_back_and_drain(len(acked))
    finally:
        process.stop()
    assert len(acked) == BURST
    assert got == acked


@pytest.mark.mqtt
def test_the_worker_reports_a_broker_that_forgot_its_session(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A broker restarted without persistence has no session for the worker: what was published
    meanwhile for it is gone, and the worker says so (an error, not the usual info line)."""
    volatile = tmp_path / "volatile.conf"
    volatile.write_text("listener 1883\nallow_anonymous true\npersistence false\n", "utf-8")
    process = broker(tmp_path / "volatile", volatile)
    config = base_config("127.0.0.1", process.port, unique("forgot"))
    try:
        with (
            caplog.at_level(logging.INFO, "carprivacy.adapters.mqtt.worker"),
            running_worker(config, InMemoryIngestService()) as worker,
        ):
            process.stop()
            process.start()
            assert wait_until(lambda: worker.stats.connects >= 2, 30)
            assert wait_until(
                lambda: any("kept no session" in r.getMessage() for r in caplog.records), 10
            )
    finally:
        process.stop()
    forgot = [r for r in caplog.records if "kept no session" in r.getMessage()]
    assert forgot and all(r.levelno == logging.ERROR for r in forgot)
    assert config.client_id in forgot[0].getMessage()
