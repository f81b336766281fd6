"""The shipped stream broker configuration (SPEC C2, I3): deploy/mosquitto/stream.conf and its CI
variant stream-ci.conf agree on everything but paths and the listener, listen on TLS only with
the dynamic security plugin deciding who may connect, and no certificate or key is committed."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from carprivacy.config import REPO_DIR
from carprivacy.testing.mosquitto import config_settings
from carprivacy.testing.stream_broker import (
    ADMIN,
    STREAM_CI_CONFIG,
    STREAM_CONFIG,
    StreamBrokerInfo,
    reachable,
)

SHARED = (
    "per_listener_settings",
    "protocol",
    "tls_version",
    "allow_anonymous",
    "plugin",
    "max_queued_messages",
    "queue_qos0_messages",
    "max_inflight_messages",
    "max_packet_size",
    "persistence",
    "autosave_interval",
    "persistent_client_expiration",
    "connection_messages",
    "log_type",
)


def test_the_ci_variant_has_the_production_settings() -> None:
    production, ci = config_settings(STREAM_CONFIG), config_settings(STREAM_CI_CONFIG)
    for name in SHARED:
        assert ci.get(name) == production.get(name), name
    for conf in (production, ci):
        assert conf["allow_anonymous"] == ["false"]
        assert conf["plugin"][0].endswith("mosquitto_dynamic_security.so")
        assert "plugin_opt_config_file" in conf and "certfile" in conf and "keyfile" in conf
        assert "topic" in conf["log_dest"]  # the server counts connections from the notices
        assert len(conf["listener"]) == 1  # one listener, TLS


def test_no_certificate_or_key_is_committed() -> None:
    files = subprocess.run(
        ["git", "ls-files", "deploy", "src", "tests"],
        cwd=REPO_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert not [f for f in files if f.endswith((".pem", ".key", ".crt", ".p12"))]


def test_the_broker_speaks_tls_only_and_refuses_anonymous_clients(
    stream_broker: StreamBrokerInfo,
) -> None:
    b = stream_broker
    assert reachable(b.host, b.port, b.ca)
    with socket.create_connection((b.host, b.port), timeout=5) as raw:
        raw.settimeout(5)
        # an MQTT CONNECT in plain text is no TLS handshake: the broker closes the connection
        raw.sendall(b"\x10\x10\x00\x04MQTT\x05\x02\x00\x3c\x00\x00\x03abc")
        try:
            answer = raw.recv(16)
        except (TimeoutError, ConnectionResetError):
            answer = b""
    assert not answer.startswith(b"\x20")  # no CONNACK


def test_the_admin_reads_no_customer_topic(stream_broker: StreamBrokerInfo) -> None:
    """The plugin's administrator may use the control topic, never subscribe to ``#``."""
    b = stream_broker
    granted: list[str] = []
    done = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.username_pw_set(ADMIN, b.admin_password)
    client.tls_set(ca_certs=str(b.ca), tls_version=ssl.PROTOCOL_TLS_CLIENT)
    client.on_subscribe = lambda c, u, m, codes, p: (granted.extend(map(str, codes)), done.set())
    client.on_connect = lambda c, u, f, rc, p: c.subscribe("#", qos=1)
    client.connect(b.host, b.port)
    client.loop_start()
    try:
        assert done.wait(10)
        assert granted == ["Not authorized"]
    finally:
        client.disconnect()
        client.loop_stop()
