"""The CarData stream's Mosquitto for tests, benchmarks and CI (SPEC C2, I3).

:func:`prepare` writes into a directory what ``deploy/mosquitto/stream-ci.conf`` names: a CA
and a broker certificate for ``localhost`` / ``127.0.0.1`` made with ``cryptography`` at start
(never committed), the dynamic security plugin's file with the administrator account only
(the server creates the rest through the plugin, as in production), and ``accounts.json``
(mode 0600) with the administrator's and publisher's passwords. :class:`StreamBrokerProcess`
runs a broker of one's own from the same configuration on a free port.

    python -m carprivacy.testing.stream_broker prepare /tmp/carprivacy-stream-ci
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from carprivacy.config import REPO_DIR
from carprivacy.testing.mosquitto import free_port, mosquitto_binary

STREAM_CI_CONFIG = REPO_DIR / "deploy" / "mosquitto" / "stream-ci.conf"
STREAM_CONFIG = REPO_DIR / "deploy" / "mosquitto" / "stream.conf"
CI_DIR = Path("/tmp/carprivacy-stream-ci")
ADMIN = "carprivacy-stream-admin"
PUBLISHER = "carprivacy-stream-publisher"
DYNSEC_ITERATIONS = 101  # what mosquitto_ctrl writes


@dataclass(frozen=True)
class StreamBrokerInfo:
    host: str
    port: int
    ca: Path
    admin_password: str
    publisher_password: str
    directory: Path

    @classmethod
    def read(cls, directory: Path, port: int, host: str = "127.0.0.1") -> StreamBrokerInfo:
        accounts = json.loads((directory / "accounts.json").read_text(encoding="utf-8"))
        return cls(
            host, port, directory / "ca.pem", accounts[ADMIN], accounts[PUBLISHER], directory
        )


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def certificates(directory: Path, days: int = 30) -> None:
    """A CA and a broker certificate (``localhost``, ``127.0.0.1``) signed by it."""
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("carprivacy stream test CA"))
        .issuer_name(_name("carprivacy stream test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    broker = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (directory / "ca.pem").write_bytes(ca.public_bytes(pem))
    (directory / "broker.pem").write_bytes(broker.public_bytes(pem))
    key_file = directory / "broker.key"
    key_file.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_file.chmod(0o600)


def dynsec_password(password: str) -> dict[str, object]:
    """The plugin's stored form of a password: salted PBKDF2-HMAC-SHA512, base64."""
    salt = secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, DYNSEC_ITERATIONS)
    return {
        "password": base64.b64encode(digest).decode(),
        "salt": base64.b64encode(salt).decode(),
        "iterations": DYNSEC_ITERATIONS,
    }


def dynsec_file(admin_password: str) -> dict[str, object]:
    """The plugin's file with the administrator only: it may use the control topic and read
    the broker's own ``$SYS`` topics, never a customer's; everything else is refused."""
    acls = [
        {"acltype": t, "topic": "$CONTROL/dynamic-security/#", "allow": True}
        for t in ("publishClientSend", "publishClientReceive", "subscribePattern")
    ] + [
        {"acltype": t, "topic": "$SYS/#", "allow": True}
        for t in ("publishClientReceive", "subscribePattern")
    ]
    return {
        "clients": [
            {"username": ADMIN, "roles": [{"rolename": "admin"}], **dynsec_password(admin_password)}
        ],
        "roles": [{"rolename": "admin", "acls": acls}],
        "defaultACLAccess": {
            "publishClientSend": False,
            "publishClientReceive": False,
            "subscribe": False,
            "unsubscribe": True,
        },
    }


def prepare(directory: Path) -> StreamBrokerInfo:
    """Certificates, the plugin's file and the accounts' passwords in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    certificates(directory)
    accounts = {ADMIN: secrets.token_urlsafe(24), PUBLISHER: secrets.token_urlsafe(24)}
    (directory / "dynamic-security.json").write_text(
        json.dumps(dynsec_file(accounts[ADMIN]), indent=1), encoding="utf-8"
    )
    account_file = directory / "accounts.json"
    account_file.write_text(json.dumps(accounts), encoding="utf-8")
    account_file.chmod(0o600)
    if os.geteuid() == 0:  # the broker started as root runs as the mosquitto user
        try:
            shutil.chown(directory, "mosquitto")
            for name in ("broker.key", "dynamic-security.json"):
                shutil.chown(directory / name, "mosquitto")
        except (LookupError, OSError):
            pass
    return StreamBrokerInfo.read(directory, 0)


def relocated(source: Path, port: int, directory: Path) -> str:
    """``source`` (``stream-ci.conf``) with its listener on ``port`` and its files in
    ``directory``."""
    out = []
    for line in source.read_text(encoding="utf-8").splitlines():
        name = line.strip().partition(" ")[0]
        if name == "listener":
            line = f"listener {port} 127.0.0.1"
        elif name in ("user", "pid_file"):
            continue
        out.append(line.replace(str(CI_DIR), str(directory)))
    if os.geteuid() == 0:
        out.append("user root")
    return "\n".join(out) + "\n"


def reachable(host: str, port: int, ca: Path, timeout: float = 2.0) -> bool:
    """Whether a TLS broker answers at ``host:port`` with a certificate ``ca`` signed."""
    context = ssl.create_default_context(cafile=str(ca))
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=host),
        ):
            return True
    except (OSError, ssl.SSLError):
        return False


class StreamBrokerProcess:
    """A stream broker of one's own (``stream-ci.conf``) in ``directory`` on a free port."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        binary = mosquitto_binary()
        if binary is None:
            raise FileNotFoundError("mosquitto: [missing] install Debian's mosquitto package")
        self.binary = binary
        self.port = port or free_port()
        self.directory = directory
        prepare(directory)
        self.config = directory / "mosquitto.conf"
        self.config.write_text(relocated(STREAM_CI_CONFIG, self.port, directory), "utf-8")
        self.info = StreamBrokerInfo.read(directory, self.port)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10) -> StreamBrokerInfo:
        self.process = subprocess.Popen(
            [self.binary, "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            if reachable("127.0.0.1", self.port, self.info.ca, 0.5):
                return self.info
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the stream broker did not start; see {self.directory}")

    def stop(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
            self.process.wait(20)
            self.process = None


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "prepare":
        print("usage: python -m carprivacy.testing.stream_broker prepare DIRECTORY")
        return 2
    prepare(Path(argv[1]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
