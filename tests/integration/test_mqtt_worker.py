"""The MQTT worker against the real Mosquitto (SPEC I1, I3).

Storage here is the in-memory ingest fake: these tests are about the transport (acknowledgement
after commit, quarantine, shared subscriptions, reconnects). The database path is covered by
test_mqtt_database.py.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from mqtt_support import (
    PrivateBroker,
    Publisher,
    base_config,
    record,
    running_worker,
    unique,
    wait_until,
)

from carprivacy.testing.ingest import InMemoryIngestService

pytestmark = pytest.mark.mqtt

VIN = "WMW11111111000001"


def test_records_arrive_in_batches_and_are_acknowledged(mqtt_broker: tuple[str, int]) -> None:
    host, port = mqtt_broker
    base = unique()
    sink = InMemoryIngestService()
    pub = Publisher(host, port)
    try:
        with running_worker(base_config(host, port, base, batch_size=50), sink) as worker:
            infos = [
                pub.publish_records(f"{base}/{VIN}/telemetry", [record(2 * i), record(2 * i + 1)])
                for i in range(300)
            ]
            for info in infos:
                info.wait_for_publish(10)
            assert wait_until(lambda: sink.stored_count() == 600)
            assert wait_until(lambda: worker.stats.acked == 300)
            assert worker.stats.accepted == 600
            # batching: far fewer ingest calls (= transactions) than messages
            assert sink.calls <= 300 // 5
        assert all(key[0] == VIN and key[3] == "mqtt" for key in sink.stored)
    finally:
        pub.close()


def test_a_burst_beyond_the_brokers_queue_is_not_dropped(mqtt_broker: tuple[str, int]) -> None:
    """Mosquitto queues only 1000 messages per client beyond the in-flight window and drops the
    rest; the worker's wide window lets a slow store fall behind a fast fleet without loss."""
    host, port = mqtt_broker
    base = unique()

    class SlowStore(InMemoryIngestService):
        def ingest(self, *args: Any, **kwargs: Any) -> Any:
            time.sleep(0.3)
            return super().ingest(*args, **kwargs)

    sink = SlowStore()
    pub = Publisher(host, port)
    try:
        with running_worker(base_config(host, port, base, batch_size=250), sink) as worker:
            infos = [
                pub.publish_records(f"{base}/{VIN}/telemetry", [record(i)]) for i in range(2500)
            ]
            for info in infos:
                info.wait_for_publish(10)
            assert wait_until(lambda: sink.stored_count() == 2500, timeout=30)
            assert wait_until(lambda: worker.stats.acked == 2500)
    finally:
        pub.close()


def test_nothing_is_acknowledged_before_it_is_committed(mqtt_broker: tuple[str, int]) -> None:
    """While the store is down nothing is acked; a new worker session gets every message again."""
    host, port = mqtt_broker
    base = unique()
    config = base_config(host, port, base)
    sink = InMemoryIngestService()
    sink.available = False
    pub = Publisher(host, port)
    try:
        with running_worker(config, sink) as worker:
            for i in range(20):
                pub.publish_records(f"{base}/{VIN}/telemetry", [record(i)]).wait_for_publish(10)
            assert wait_until(lambda: worker.stats.failures >= 2)
            assert worker.stats.acked == 0
        assert sink.stored_count() == 0
        # The store is back; the worker's persistent session still holds all 20 messages.
        sink.available = True
        with running_worker(config, sink) as worker:
            assert wait_until(lambda: sink.stored_count() == 20)
            assert wait_until(lambda: worker.stats.acked == 20)
        # Acknowledged means gone from the broker: a third session receives nothing.
        calls = sink.calls
        with running_worker(config, sink) as worker:
            assert not wait_until(lambda: worker.stats.messages > 0, timeout=1.5)
        assert sink.calls == calls
    finally:
        pub.close()


def test_store_outage_mid_run_is_retried_without_loss(mqtt_broker: tuple[str, int]) -> None:
    host, port = mqtt_broker
    base = unique()
    sink = InMemoryIngestService()
    pub = Publisher(host, port)
    try:
        with running_worker(base_config(host, port, base), sink) as worker:
            sink.available = False
            for i in range(30):
                pub.publish_records(f"{base}/{VIN}/telemetry", [record(i)]).wait_for_publish(10)
            assert wait_until(lambda: worker.stats.failures >= 1)
            sink.available = True
            assert wait_until(lambda: sink.stored_count() == 30, timeout=20)
            assert wait_until(lambda: worker.stats.acked == 30)
    finally:
        pub.close()


def test_malformed_messages_are_quarantined_and_the_worker_goes_on(
    mqtt_broker: tuple[str, int],
) -> None:
    host, port = mqtt_broker
    base = unique()
    sink = InMemoryIngestService()
    pub = Publisher(host, port)
    topic = f"{base}/{VIN}/telemetry"
    try:
        with running_worker(base_config(host, port, base), sink) as worker:
            pub.publish(topic, b'[{"signal": "Vehicle.Speed", "value": 1,').wait_for_publish(10)
            pub.publish(topic, b"\xff\xfe not utf-8").wait_for_publish(10)
            pub.publish(topic, b'"just a string"').wait_for_publish(10)
            pub.publish(topic, b"[1, 2]").wait_for_publish(10)
            pub.publish(topic, b"[]").wait_for_publish(10)
            pub.publish(f"{base}/not-a-vin!/telemetry", json.dumps([record(1)])).wait_for_publish(
                10
            )
            other = dict(record(2), vin="WMW99999999000009")
            pub.publish(topic, json.dumps([other])).wait_for_publish(10)
            pub.publish(topic, json.dumps(record(3))).wait_for_publish(10)  # one object: fine
            pub.publish(topic, json.dumps([record(4), {"signal": "Vehicle.Speed"}]))
            assert wait_until(lambda: worker.stats.acked == 9)
        rules = sorted(q.problem.rule for q in sink.quarantined)
        assert rules == ["encoding", "json", "shape", "shape", "shape", "vin", "vin_mismatch"]
        assert all(q.source == "mqtt" for q in sink.quarantined)
        # a malformed message's problem never repeats its content
        assert all("Vehicle.Speed" not in q.problem.message for q in sink.quarantined)
        # the well-formed messages are stored; the bad record of the last one is rejected, not lost
        assert sink.stored_count() == 2
        assert len(sink.rejected) == 1
    finally:
        pub.close()


def test_shared_subscription_splits_the_load_without_duplicates(
    mqtt_broker: tuple[str, int],
) -> None:
    host, port = mqtt_broker
    base = unique()
    group = unique("g")
    sink = InMemoryIngestService()
    pub = Publisher(host, port)
    one = base_config(host, port, base, group=group, client_id=f"{base}-w1")
    two = base_config(host, port, base, group=group, client_id=f"{base}-w2")
    try:
        with running_worker(one, sink) as w1, running_worker(two, sink) as w2:
            infos = [
                pub.publish_records(f"{base}/{VIN}/telemetry", [record(i)]) for i in range(400)
            ]
            for info in infos:
                info.wait_for_publish(10)
            assert wait_until(lambda: w1.stats.acked + w2.stats.acked == 400)
            assert w1.stats.messages > 40 and w2.stats.messages > 40, "both workers take a share"
            assert w1.stats.messages + w2.stats.messages == 400, "each message to one worker only"
            assert sink.stored_count() == 400
            assert w1.subscription == f"$share/{group}/{base}/+/telemetry"
    finally:
        pub.close()


def test_worker_reconnects_after_a_broker_restart(tmp_path: Path) -> None:
    broker = PrivateBroker(tmp_path)
    broker.start()
    base = unique()
    sink = InMemoryIngestService()
    config = base_config("127.0.0.1", broker.port, base)
    try:
        with running_worker(config, sink) as worker:
            pub = Publisher("127.0.0.1", broker.port)
            for i in range(50):
                pub.publish_records(f"{base}/{VIN}/telemetry", [record(i)]).wait_for_publish(10)
            assert wait_until(lambda: sink.stored_count() == 50)
            pub.close()
            broker.stop()
            broker.start()
            assert wait_until(lambda: worker.stats.connects >= 2, timeout=20)
            assert worker.wait_subscribed(10)
            pub = Publisher("127.0.0.1", broker.port)
            for i in range(50, 100):
                pub.publish_records(f"{base}/{VIN}/telemetry", [record(i)]).wait_for_publish(10)
            assert wait_until(lambda: sink.stored_count() == 100)
            pub.close()
    finally:
        broker.stop()


def test_messages_published_while_the_worker_is_away_are_delivered_later(
    mqtt_broker: tuple[str, int],
) -> None:
    """The persistent session (clean_start False + session expiry) queues for a stopped worker."""
    host, port = mqtt_broker
    base = unique()
    config = base_config(host, port, base)
    sink = InMemoryIngestService()
    with running_worker(config, sink):
        pass  # creates the session and its subscription
    pub = Publisher(host, port)
    try:
        for i in range(25):
            pub.publish_records(f"{base}/{VIN}/telemetry", [record(i)]).wait_for_publish(10)
        with running_worker(config, sink) as worker:
            assert wait_until(lambda: sink.stored_count() == 25)
            assert wait_until(lambda: worker.stats.acked == 25)
    finally:
        pub.close()
