"""MQTT over TLS with a client certificate and username/password (SPEC I3).

A private Mosquitto (own port, temp dir) with a TLS listener only, a CA made for the test, a server
certificate for 127.0.0.1, required client certificates and a password file.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from mqtt_support import PrivateBroker, base_config, record, unique, wait_until
from paho.mqtt.enums import CallbackAPIVersion

from carprivacy.adapters.mqtt.worker import MqttIngestWorker
from carprivacy.testing.ingest import InMemoryIngestService

pytestmark = pytest.mark.mqtt

VIN = "WMW22222222000002"


def _write(path: Path, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> None:
    path.with_suffix(".key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.with_suffix(".pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def make_pki(directory: Path) -> None:
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "carprivacy test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    _write(directory / "ca", ca_key, ca)
    for name, san in (("server", True), ("client", False)):
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"test {name}")]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
        )
        if san:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            )
        _write(directory / name, key, builder.sign(ca_key, hashes.SHA256()))


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[PrivateBroker]:
    passwd = shutil.which("mosquitto_passwd")
    if passwd is None:
        pytest.skip("mosquitto_passwd is not installed")
    make_pki(tmp_path)
    subprocess.run(
        [passwd, "-c", "-b", str(tmp_path / "passwd"), "ingest", "s3cret-test-only"], check=True
    )
    broker = PrivateBroker(
        tmp_path,
        f"cafile {tmp_path}/ca.pem\ncertfile {tmp_path}/server.pem\nkeyfile {tmp_path}/server.key\n"
        f"require_certificate true\npassword_file {tmp_path}/passwd\n",
    )
    text = broker.config.read_text(encoding="utf-8").replace("allow_anonymous true", "")
    broker.config.write_text(text + "allow_anonymous false\n", encoding="utf-8")
    broker.start()
    yield broker
    broker.stop()


def tls_publisher(port: int, d: Path) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=unique("pub"), protocol=mqtt.MQTTv5)
    client.tls_set(
        ca_certs=str(d / "ca.pem"), certfile=str(d / "client.pem"), keyfile=str(d / "client.key")
    )
    client.username_pw_set("ingest", "s3cret-test-only")
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def test_worker_ingests_over_tls_with_client_certificate_and_password(
    tls_broker: PrivateBroker, tmp_path: Path
) -> None:
    base = unique()
    sink = InMemoryIngestService()
    config = base_config(
        "127.0.0.1",
        tls_broker.port,
        base,
        tls_ca=tmp_path / "ca.pem",
        tls_cert=tmp_path / "client.pem",
        tls_key=tmp_path / "client.key",
        username="ingest",
        password="s3cret-test-only",
    )
    worker = MqttIngestWorker(config, sink)
    worker.start()
    try:
        assert worker.wait_subscribed(10), worker.refused
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        pub = tls_publisher(tls_broker.port, tmp_path)
        for i in range(10):
            pub.publish(f"{base}/{VIN}/telemetry", json.dumps([record(i)]), qos=1).wait_for_publish(
                10
            )
        assert wait_until(lambda: sink.stored_count() == 10)
        pub.disconnect()
        pub.loop_stop()
        worker.request_stop()
        thread.join(10)
    finally:
        worker.close()


def test_wrong_password_is_refused_and_reported(tls_broker: PrivateBroker, tmp_path: Path) -> None:
    config = base_config(
        "127.0.0.1",
        tls_broker.port,
        unique(),
        tls_ca=tmp_path / "ca.pem",
        tls_cert=tmp_path / "client.pem",
        tls_key=tmp_path / "client.key",
        username="ingest",
        password="wrong",
    )
    worker = MqttIngestWorker(config, InMemoryIngestService())
    worker.start()
    try:
        assert not worker.wait_subscribed(3)
        assert worker.refused is not None and "authori" in worker.refused.lower()
    finally:
        worker.close()


def test_plain_tcp_to_the_tls_listener_never_subscribes(tls_broker: PrivateBroker) -> None:
    worker = MqttIngestWorker(
        base_config("127.0.0.1", tls_broker.port, unique()), InMemoryIngestService()
    )
    worker.start()
    try:
        assert not worker.wait_subscribed(2)
    finally:
        worker.close()


# paho-mqtt 2.2 leaves the socket of a failed TLS handshake to the garbage collector while it
# retries; that ResourceWarning is paho's, not ours.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_broker_certificate_from_another_ca_is_not_trusted(
    tls_broker: PrivateBroker, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    make_pki(other)
    config = base_config(
        "127.0.0.1",
        tls_broker.port,
        unique(),
        tls_ca=other / "ca.pem",
        tls_cert=tmp_path / "client.pem",
        tls_key=tmp_path / "client.key",
        username="ingest",
        password="s3cret-test-only",
    )
    worker = MqttIngestWorker(config, InMemoryIngestService())
    worker.start()
    try:
        assert not worker.wait_subscribed(2)
    finally:
        worker.close()
