"""A CarData stream client as the published description has it (MQTT over TLS, username the
gcid, password the id token, topic ``{gcid}/{vin}``), written with paho only, and a world of
one customer with a car behind a server whose stream is on."""

from __future__ import annotations

import json
import queue
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


@dataclass
class StreamSubscriber:
    host: str
    port: int
    ca: Path
    username: str
    password: str
    messages: queue.Queue[tuple[str, dict[str, Any]]] = field(default_factory=queue.Queue)
    connack: Any = None
    disconnected_at: float | None = None
    suback: list[str] = field(default_factory=list)
    _connected: threading.Event = field(default_factory=threading.Event)
    _answered: threading.Event = field(default_factory=threading.Event)
    _subscribed: threading.Event = field(default_factory=threading.Event)
    client: mqtt.Client | None = None

    def connect(self, timeout: float = 10) -> bool:
        """Connect once (no reconnect: a cut-off must stay cut); whether the broker accepted."""
        c = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"test-stream-{uuid.uuid4().hex[:10]}",
            protocol=mqtt.MQTTv5,
            reconnect_on_failure=False,
        )
        c.username_pw_set(self.username, self.password)
        c.tls_set(ca_certs=str(self.ca), tls_version=ssl.PROTOCOL_TLS_CLIENT)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        c.on_subscribe = self._on_subscribe
        self.client = c
        c.connect(self.host, self.port, keepalive=30)
        c.loop_start()
        assert self._answered.wait(timeout), "the stream broker did not answer CONNECT"
        return self._connected.is_set()

    def subscribe(self, topic: str, timeout: float = 10) -> list[str]:
        assert self.client is not None
        self._subscribed.clear()
        self.client.subscribe(topic, qos=1)
        assert self._subscribed.wait(timeout), "no SUBACK"
        return self.suback

    def next_message(self, timeout: float = 15) -> tuple[str, dict[str, Any]]:
        return self.messages.get(timeout=timeout)

    def wait_disconnected(self, timeout: float = 15) -> float | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.disconnected_at is not None:
                return self.disconnected_at
            time.sleep(0.01)
        return None

    def close(self) -> None:
        if self.client is not None:
            self.client.disconnect()
            self.client.loop_stop()

    # -- paho's callbacks ----------------------------------------------------------------------

    def _on_connect(self, _c: Any, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        self.connack = rc
        if not rc.is_failure:
            self._connected.set()
        self._answered.set()

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, _rc: Any, _p: Any) -> None:
        if self.disconnected_at is None:
            self.disconnected_at = time.monotonic()
        self._answered.set()

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        self.messages.put((msg.topic, json.loads(msg.payload)))

    def _on_subscribe(self, _c: Any, _u: Any, _mid: Any, codes: Any, _p: Any) -> None:
        self.suback = [str(c) for c in codes]
        self._subscribed.set()
