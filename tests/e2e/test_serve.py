"""``carprivacy serve``: plain HTTP only on loopback, TLS elsewhere (SPEC I3)."""

from __future__ import annotations

import datetime as dt
import os
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from typer.testing import CliRunner

from carprivacy.entrypoints.cli.commands.serve import is_loopback
from carprivacy.entrypoints.cli.main import app

CARPRIVACY = [sys.executable, "-m", "carprivacy.entrypoints.cli.main"]


def test_loopback_detection() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.0.2.10")


def test_plain_http_on_a_public_address_is_refused() -> None:
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "loopback" in result.output and "--tls-cert" in result.output


def test_tls_cert_without_key_is_refused(tmp_path: Path) -> None:
    cert = tmp_path / "c.pem"
    cert.write_text("x")
    result = CliRunner().invoke(app, ["serve", "--tls-cert", str(cert)])
    assert result.exit_code != 0
    assert "--tls-key" in result.output


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serves_https_with_a_certificate_and_keeps_the_admin_token_private(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    port = _free_port()
    env = {
        **os.environ,
        "CARPRIVACY_DATA_DIR": str(tmp_path / "var"),
        "CARPRIVACY_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
    }
    env.pop("CARPRIVACY_ADMIN_TOKEN", None)
    proc = subprocess.Popen(
        [*CARPRIVACY, "serve", "--port", str(port), "--tls-cert", str(cert), "--tls-key", str(key)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        answer = None
        while time.monotonic() < deadline:
            try:
                answer = httpx.get(
                    f"https://localhost:{port}/health",
                    verify=ssl.create_default_context(cafile=str(cert)),
                    timeout=2,
                )
                break
            except httpx.TransportError:
                if proc.poll() is not None:
                    break
                time.sleep(0.2)
        assert answer is not None, "server did not answer over TLS"
        assert answer.status_code == 200
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
        token_file = tmp_path / "var" / "admin.token"
        assert token_file.stat().st_mode & 0o777 == 0o600
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert f"https://localhost:{port}/docs" in out
    assert token_file.read_text().strip() not in out  # the token itself is never printed


def test_an_invalid_policy_is_reported_not_served(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: x\npurposes: [\n", encoding="utf-8")
    env = {
        **os.environ,
        "CARPRIVACY_DATA_DIR": str(tmp_path / "var"),
        "CARPRIVACY_POLICY_PATH": str(broken),
        "CARPRIVACY_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
    }
    result = subprocess.run(
        [*CARPRIVACY, "serve", "--port", str(_free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "is not valid" in result.stderr and "line" in result.stderr
    assert "Traceback" not in result.stderr
