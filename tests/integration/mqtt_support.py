"""Support for the MQTT tests: a worker in a thread, a QoS 1 publisher, a private broker."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from carprivacy.adapters.mqtt.worker import MqttIngestWorker, MqttWorkerConfig, TelemetrySink


def unique(prefix: str = "t") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def base_config(host: str, port: int, base: str, **overrides: Any) -> MqttWorkerConfig:
    config = MqttWorkerConfig(
        host=host,
        port=port,
        topic=f"{base}/+/telemetry",
        group=None,
        client_id=f"{base}-w",
        batch_size=100,
        batch_ms=50,
        session_expiry_s=120,
        reconnect_max_delay_s=1,
    )
    return replace(config, **overrides)


@contextmanager
def running_worker(config: MqttWorkerConfig, sink: TelemetrySink) -> Iterator[MqttIngestWorker]:
    worker = MqttIngestWorker(config, sink)
    worker.start()
    assert worker.wait_subscribed(10), "the worker did not subscribe within 10 s"
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        yield worker
    finally:
        worker.request_stop()
        thread.join(15)
        assert not thread.is_alive()


class Publisher:
    def __init__(self, host: str, port: int) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=unique("pub"), protocol=mqtt.MQTTv5
        )
        self.client.max_inflight_messages_set(200)
        self.client.max_queued_messages_set(0)
        self.client.connect(host, port)
        self.client.loop_start()

    def publish(self, topic: str, payload: bytes | str) -> mqtt.MQTTMessageInfo:
        return self.client.publish(topic, payload, qos=1)

    def publish_records(self, topic: str, records: list[dict[str, Any]]) -> mqtt.MQTTMessageInfo:
        return self.publish(topic, json.dumps(records))

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def record(i: int, signal: str = "Vehicle.Speed") -> dict[str, Any]:
    return {"signal": signal, "value": float(i % 200), "ts": f"2026-11-25T08:00:00.{i:06d}+00:00"}


def wait_until(predicate: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateBroker:
    """A Mosquitto of our own (free port, temp dir, persistence on): safe to stop and restart."""

    def __init__(self, directory: Path, extra_config: str = "") -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.binary = binary
        self.port = free_port()
        self.directory = directory
        self.config = directory / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {directory}/\nmax_queued_messages 0\n{extra_config}"
            # as root, Mosquitto would switch to its own user, who cannot read our temp dir
            + ("user root\n" if os.geteuid() == 0 else ""),
            encoding="utf-8",
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("private mosquitto did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None
