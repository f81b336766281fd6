"""The stream broker's access control through Mosquitto 2's dynamic security plugin (SPEC C2,
U1; ``deploy/mosquitto/stream.conf``), and the process's one publishing connection.

:class:`DynsecBroker` implements the ``StreamBroker`` port over the plugin's control topic
(``$CONTROL/dynamic-security/v1``, JSON commands, answered on ``.../response``), connected as
the stream's administrator account (which may do nothing else). Per stream account:

- a client ``username = gcid`` whose password is the current id token (the plugin keeps a
  salted PBKDF2-SHA512 hash of it; changing it closes the account's connections);
- a role of its own, ``carprivacy-stream:<gcid>``: subscribe ``<gcid>/#``, receive
  ``<gcid>/<vin>`` for each VIN it may receive now. The default access refuses every other
  subscription, delivery and publication, so the broker itself refuses another account's
  topics, and a VIN taken off the role is no longer delivered even to an open subscription.

Disabling a client or deleting it closes its connections (the plugin's kick). Taking a VIN off
a role does not, so :class:`~carprivacy.domain.cardata_stream.Action` ``REVOKE`` disables and
enables the client in the same command batch. paho's errors stay here: a broker that does not
answer is :class:`StreamBrokerError`.

:class:`MqttStreamOutlet` is the ``StreamOutlet`` port: one paho connection per process as the
publisher account (which may only publish ``+/+``), QoS 1, reconnecting by itself.
"""

from __future__ import annotations

import json
import ssl
import threading
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from carprivacy.domain.cardata_stream import (
    ROLE_PREFIX,
    Action,
    Provisioned,
    Step,
    role_name,
    subscription_filter,
    topic,
)
from carprivacy.domain.errors import StreamBrokerError

CONTROL = "$CONTROL/dynamic-security/v1"
RESPONSE = f"{CONTROL}/response"
ANSWER_SECONDS = 10.0
EXISTS = ("already exists",)


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    ca: (
        Path | None
    )  # the CA that signed the broker's certificate; None: no TLS (never in production)
    username: str
    password: str


def mqtt_client(address: BrokerAddress, client_id: str) -> mqtt.Client:
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, clean_session=None
    )
    client.username_pw_set(address.username, address.password)
    if address.ca is not None:
        client.tls_set(ca_certs=str(address.ca), tls_version=ssl.PROTOCOL_TLS_CLIENT)
    client.reconnect_delay_set(1, 5)
    return client


def _connect(client: mqtt.Client, address: BrokerAddress, ready: threading.Event) -> None:
    try:
        client.connect(address.host, address.port, keepalive=30)
    except OSError as exc:
        raise StreamBrokerError(f"stream broker {address.host}:{address.port}: {exc}") from exc
    client.loop_start()
    if not ready.wait(ANSWER_SECONDS):
        client.loop_stop()
        raise StreamBrokerError("the stream broker did not accept the connection")


class DynsecBroker:
    """The ``StreamBroker`` port over the dynamic security plugin (one admin connection)."""

    def __init__(self, address: BrokerAddress, publisher: tuple[str, str] | None = None) -> None:
        """``publisher``: the publishing account (username, password) :meth:`setup` creates."""
        self.address = address
        self.publisher = publisher
        self._client: mqtt.Client | None = None
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._answers: dict[str, list[dict[str, Any]]] = {}
        self._answered = threading.Condition()

    # -- the port ------------------------------------------------------------------------------

    def held(self, usernames: Collection[str]) -> dict[str, Provisioned]:
        ours = set(usernames)
        if not ours:
            return {}
        (clients, roles) = self.command(
            {"command": "listClients", "verbose": True},
            {"command": "listRoles", "verbose": True},
        )
        vins: dict[str, set[str]] = {}
        for role in (roles.get("data") or {}).get("roles", []):
            name = str(role.get("rolename", ""))
            if not name.startswith(ROLE_PREFIX):
                continue
            username = name[len(ROLE_PREFIX) :]
            for acl in role.get("acls", []):
                if acl.get("acltype") == "publishClientReceive" and acl.get("allow"):
                    vins.setdefault(username, set()).add(str(acl["topic"]).split("/", 1)[1])
        out = {}
        for client in (clients.get("data") or {}).get("clients", []):
            username = str(client.get("username", ""))
            if username in ours:
                enabled = not client.get("disabled", False)
                out[username] = Provisioned(frozenset(vins.get(username, ())), enabled)
        return out

    def provision(self, username: str, password: str, vins: Collection[str]) -> None:
        role = role_name(username)
        commands: list[dict[str, Any]] = [
            {"command": "createRole", "rolename": role, "acls": _acls(username, vins)},
            {"command": "createClient", "username": username, "password": password,
             "roles": [{"rolename": role}]},
            # an account that existed: the new token replaces the old (its connections close)
            {"command": "setClientPassword", "username": username, "password": password},
            *(_allow(username, vin) for vin in vins),
            {"command": "enableClient" if vins else "disableClient", "username": username},
        ]  # fmt: skip
        self._run(commands)

    def apply(self, steps: Sequence[Step]) -> None:
        commands: list[dict[str, Any]] = []
        for step in steps:
            u = step.username
            if step.action is Action.DELETE:
                commands += [
                    {"command": "deleteClient", "username": u},
                    {"command": "deleteRole", "rolename": role_name(u)},
                ]
            elif step.action is Action.REVOKE:
                commands += [_revoke(u, vin) for vin in step.vins]
                commands += [  # the plugin's kick: every connection of the account closes
                    {"command": "disableClient", "username": u},
                    {"command": "enableClient", "username": u},
                ]
            elif step.action is Action.ALLOW:
                commands += [_allow(u, vin) for vin in step.vins]
            elif step.action is Action.DISABLE:
                commands.append({"command": "disableClient", "username": u})
            elif step.action is Action.ENABLE:
                commands.append({"command": "enableClient", "username": u})
        if commands:
            self._run(commands)

    # -- set-up --------------------------------------------------------------------------------

    def setup(self) -> None:
        """The broker's fixed part: refuse by default whatever no role allows (the plugin's
        stock default delivers every message), the administrator reads no customer topic
        (``mosquitto_ctrl dynsec init`` lets it), and the publishing account may publish
        ``<gcid>/<vin>`` topics and nothing else."""
        commands: list[dict[str, Any]] = [
            {
                "command": "setDefaultACLAccess",
                "acls": [
                    {"acltype": "publishClientSend", "allow": False},
                    {"acltype": "publishClientReceive", "allow": False},
                    {"acltype": "subscribe", "allow": False},
                    {"acltype": "unsubscribe", "allow": True},
                ],
            },
            *(
                {"command": "removeRoleACL", "rolename": "admin", "acltype": t, "topic": "#"}
                for t in ("publishClientReceive", "subscribePattern", "unsubscribePattern")
            ),
        ]
        if self.publisher is not None:
            username, password = self.publisher
            role = "carprivacy-stream-publisher"
            send = {"acltype": "publishClientSend", "topic": "+/+", "allow": True}
            commands += [
                {"command": "createRole", "rolename": role, "acls": [send]},
                # created once: a password set again would close every process's publisher
                {"command": "createClient", "username": username, "password": password,
                 "roles": [{"rolename": role}]},
            ]  # fmt: skip
        self._run(commands)

    # -- the control topic -----------------------------------------------------------------------

    def _run(self, commands: list[dict[str, Any]]) -> None:
        for answer in self.command(*commands):
            error = answer.get("error")
            if error and not any(e in str(error) for e in EXISTS) and "not found" not in str(error):
                raise StreamBrokerError(f"{answer.get('command')}: {error}")

    def command(self, *commands: dict[str, Any]) -> list[dict[str, Any]]:
        """Send ``commands`` in one message; their answers, in order."""
        with self._lock:
            client = self._connected()
            key = uuid.uuid4().hex
            body = [{**c, "correlationData": f"{key}:{i}"} for i, c in enumerate(commands)]
            info = client.publish(CONTROL, json.dumps({"commands": body}), qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                raise StreamBrokerError(f"the stream broker's control topic: {info.rc}")
            with self._answered:
                if not self._answered.wait_for(lambda: key in self._answers, ANSWER_SECONDS):
                    raise StreamBrokerError("the stream broker did not answer a command")
                answers = self._answers.pop(key)
        answers.sort(key=lambda a: int(str(a.get("correlationData", ":0")).rsplit(":", 1)[1]))
        return answers

    def _connected(self) -> mqtt.Client:
        if self._client is not None and self._client.is_connected():
            return self._client
        if self._client is None:
            client = mqtt_client(self.address, f"carprivacy-stream-admin-{uuid.uuid4().hex[:12]}")
            client.on_connect = self._on_connect
            client.on_message = self._on_message
            _connect(client, self.address, self._ready)
            self._client = client
        elif not self._ready.wait(ANSWER_SECONDS):
            raise StreamBrokerError("the stream broker is not reachable")
        return self._client

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        if not rc.is_failure:
            client.subscribe(RESPONSE, qos=1)
            self._ready.set()

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            answers = json.loads(msg.payload).get("responses", [])
        except ValueError:
            return
        with self._answered:
            for answer in answers:
                key = str(answer.get("correlationData", "")).rsplit(":", 1)[0]
                if key:
                    self._answers.setdefault(key, []).append(answer)
            self._answered.notify_all()

    def close(self) -> None:
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None
            self._ready.clear()


class MqttStreamOutlet:
    """The ``StreamOutlet`` port: the process's one publishing connection, QoS 1."""

    def __init__(self, address: BrokerAddress) -> None:
        self.address = address
        self._client: mqtt.Client | None = None
        self._ready = threading.Event()
        self._lock = threading.Lock()

    def publish(self, topic_name: str, payload: bytes) -> None:
        client = self._connected()
        info = client.publish(topic_name, payload, qos=1)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            raise StreamBrokerError(f"publish to the stream broker: {info.rc}")

    def _connected(self) -> mqtt.Client:
        with self._lock:
            if self._client is None:
                client = mqtt_client(self.address, f"carprivacy-stream-pub-{uuid.uuid4().hex[:12]}")
                client.max_queued_messages_set(100_000)
                client.on_connect = self._on_connect
                _connect(client, self.address, self._ready)
                self._client = client
            return self._client

    def _on_connect(self, _c: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        if not rc.is_failure:
            self._ready.set()

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.disconnect()
                self._client.loop_stop()
                self._client = None
                self._ready.clear()


def _acls(username: str, vins: Collection[str]) -> list[dict[str, Any]]:
    return [
        {"acltype": "subscribePattern", "topic": subscription_filter(username), "allow": True},
        *(
            {"acltype": "publishClientReceive", "topic": topic(username, vin), "allow": True}
            for vin in sorted(vins)
        ),
    ]


def _allow(username: str, vin: str) -> dict[str, Any]:
    return {
        "command": "addRoleACL",
        "rolename": role_name(username),
        "acltype": "publishClientReceive",
        "topic": topic(username, vin),
        "allow": True,
    }


def _revoke(username: str, vin: str) -> dict[str, Any]:
    return {
        "command": "removeRoleACL",
        "rolename": role_name(username),
        "acltype": "publishClientReceive",
        "topic": topic(username, vin),
    }
