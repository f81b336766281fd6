"""The stream's connections per account, counted and limited at the broker (SPEC C2).

Mosquitto has no limit of connections per user name. The stream broker publishes its own log
on ``$SYS/broker/log/N`` (``log_dest topic`` in ``deploy/mosquitto/stream.conf``), readable by
the administrator account only; :class:`ConnectionLimit` follows its "New client connected ...
as <client id> (..., u'<username>')" and disconnection lines, and closes an account's
connections past ``limit`` (the newest first: :func:`~carprivacy.domain.cardata_stream.over_limit`)
with MQTT's own rule that a second connection with a client id takes over the first: it
connects with that client id as the administrator and leaves at once. The closed client is
told nothing else; connecting again while the account is at its limit is closed again.

Only accounts ``counted`` says are the stream's are counted (not the broker's own accounts).
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

from carprivacy.adapters.mqtt.dynsec import BrokerAddress, mqtt_client
from carprivacy.domain.cardata_stream import over_limit
from carprivacy.domain.errors import StreamBrokerError

log = logging.getLogger(__name__)
LOG_TOPIC = "$SYS/broker/log/N"
_CONNECTED = re.compile(r"New client connected from \S+ as (\S+) \(.*u'([^']*)'\)")
_GONE = re.compile(
    r"(?:Client (\S+) (?:disconnected|been disconnected|closed its connection|"
    r"has exceeded timeout|already connected)|Socket error on client (\S+),)"
)


def notice(line: str) -> tuple[str, str, str] | None:
    """A broker notice as ("connected", client id, username) or ("gone", client id, "")."""
    found = _CONNECTED.search(line)
    if found is not None:
        return "connected", found.group(1), found.group(2)
    gone = _GONE.search(line)
    if gone is not None:
        return "gone", gone.group(1) or gone.group(2), ""
    return None


class ConnectionLimit:
    def __init__(self, address: BrokerAddress, limit: int, counted: Callable[[str], bool]) -> None:
        self.address = address
        self.limit = limit
        self.counted = counted
        self.closed = 0  # connections closed for being past the limit
        self._open: dict[str, list[str]] = {}  # username -> client ids, oldest first
        self._owner: dict[str, str] = {}  # client id -> username
        self._lock = threading.Lock()
        self._client: mqtt.Client | None = None
        self._ready = threading.Event()

    def start(self) -> None:
        client = mqtt_client(self.address, f"carprivacy-stream-watch-{uuid.uuid4().hex[:12]}")
        client.on_connect = self._on_connect
        client.on_message = self._on_message
        self._client = client
        try:
            client.connect(self.address.host, self.address.port, keepalive=30)
        except OSError as exc:
            raise StreamBrokerError(f"stream broker: {exc}") from exc
        client.loop_start()

    def stop(self) -> None:
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None

    def connections(self, username: str) -> int:
        with self._lock:
            return len(self._open.get(username, ()))

    # -- the broker's log ------------------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        if not rc.is_failure:
            client.subscribe(LOG_TOPIC, qos=0)
            self._ready.set()

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        found = notice(msg.payload.decode("utf-8", "replace"))
        if found is None:
            return
        if found[0] == "connected":
            self._connected(found[1], found[2])
        else:
            self._gone(found[1])

    def _connected(self, client_id: str, username: str) -> None:
        extra: list[str] = []
        with self._lock:
            self._drop(client_id)
            if self.counted(username):
                ids = self._open.setdefault(username, [])
                ids.append(client_id)
                self._owner[client_id] = username
                extra = over_limit(ids, self.limit)
        for client_id_past in extra:
            threading.Thread(target=self._close, args=(client_id_past,), daemon=True).start()

    def _gone(self, client_id: str) -> None:
        with self._lock:
            self._drop(client_id)

    def _drop(self, client_id: str) -> None:
        username = self._owner.pop(client_id, None)
        if username is not None:
            ids = self._open.get(username, [])
            if client_id in ids:
                ids.remove(client_id)
            if not ids:
                self._open.pop(username, None)

    def _close(self, client_id: str) -> None:
        """Take the session over with the same client id, then leave: the broker closes the
        other connection (MQTT 3.1.1 section 3.1.4, MQTT 5 section 3.1.4)."""
        done = threading.Event()
        taker = mqtt_client(self.address, client_id)
        taker.on_connect = lambda c, *_: done.set()
        try:
            taker.connect(self.address.host, self.address.port, keepalive=10)
            taker.loop_start()
            done.wait(10)
            self.closed += 1
        except OSError:
            log.warning("a stream connection past the limit could not be closed")
        finally:
            taker.disconnect()
            taker.loop_stop()
