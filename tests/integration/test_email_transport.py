"""The mail transports (SPEC U1): SMTP with STARTTLS and AUTH against a real local SMTP server
(aiosmtpd, with a self-signed certificate made here), and the development file outbox: 0600
files, no address in a file name, a code's message removed when the code is used or expired."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from email import message_from_bytes
from email import policy as email_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import SecretStr

from carprivacy.adapters.email.outbox import FileEmailOutbox
from carprivacy.adapters.email.smtp import SmtpEmailOutbox, SmtpSettings
from carprivacy.bootstrap import email_outbox
from carprivacy.config import Settings
from carprivacy.domain.errors import MailDeliveryError

USER, PASSWORD = "carprivacy", "smtp-password-for-tests"


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
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
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "smtp.crt", tmp_path / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.authenticated: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            (envelope.rcpt_tos, message_from_bytes(envelope.content, policy=email_policy.default))
        )
        return "250 OK"


def authenticator(inbox: Inbox) -> Any:
    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            USER.encode(),
            PASSWORD.encode(),
        )
        if ok:
            inbox.authenticated.append(mechanism)
        return AuthResult(success=ok, handled=False)

    return check


@pytest.fixture
def smtp_server(tmp_path: Path) -> Iterator[tuple[Controller, Inbox, Path]]:
    cert, key = self_signed(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    inbox = Inbox()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=server_context,
        require_starttls=True,
        authenticator=authenticator(inbox),
        auth_require_tls=True,
    )
    controller.start()
    try:
        yield controller, inbox, cert
    finally:
        controller.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_of(controller: Controller) -> int:
    return int(controller.port)


def outbox_for(controller: Controller, cert: Path, **overrides: Any) -> SmtpEmailOutbox:
    values: dict[str, Any] = {
        "email_transport": "smtp",
        "smtp_host": "127.0.0.1",
        "smtp_port": port_of(controller),
        "smtp_username": USER,
        "smtp_password": SecretStr(PASSWORD),
        "smtp_tls_ca": cert,
        "smtp_from": "carprivacy <no-reply@mini.example>",
    }
    settings = Settings(**{**values, **overrides})
    outbox = email_outbox(settings)
    assert isinstance(outbox, SmtpEmailOutbox)
    return outbox


def test_smtp_delivers_over_starttls_with_auth(smtp_server) -> None:
    controller, inbox, cert = smtp_server
    outbox = outbox_for(controller, cert)
    outbox.send("person@example.org", "Your code", "Your login code is 123456.", reference="r1")
    [(to, message)] = inbox.messages
    assert to == ["person@example.org"]
    assert message["Subject"] == "Your code"
    assert message["From"] == "carprivacy <no-reply@mini.example>"
    assert "123456" in message.get_content()
    assert inbox.authenticated  # AUTH was done (the server allows it only after STARTTLS)
    outbox.withdraw("r1")  # delivered mail is the recipient's: nothing to remove, no error


def test_smtp_refuses_a_server_certificate_it_cannot_verify(smtp_server) -> None:
    controller, inbox, _ = smtp_server
    outbox = SmtpEmailOutbox(
        SmtpSettings("127.0.0.1", port_of(controller), USER, PASSWORD),
        ssl.create_default_context(),  # the system's CAs do not know the self-signed cert
    )
    with pytest.raises(MailDeliveryError, match="SSLCertVerificationError") as refused:
        outbox.send("person@example.org", "s", "b")
    assert "person@example.org" not in str(refused.value) and refused.value.__cause__ is None
    assert inbox.messages == []


def test_smtp_with_a_wrong_password_is_refused(smtp_server) -> None:
    controller, inbox, cert = smtp_server
    outbox = outbox_for(controller, cert, smtp_password=SecretStr("wrong"))
    with pytest.raises(MailDeliveryError, match="SMTPAuthenticationError"):
        outbox.send("person@example.org", "s", "b")
    assert inbox.messages == []


def test_smtp_never_sends_a_password_without_starttls(smtp_server) -> None:
    controller, inbox, cert = smtp_server
    outbox = outbox_for(controller, cert, smtp_starttls=False)
    with pytest.raises(MailDeliveryError, match="SMTPNotSupportedError"):
        outbox.send("person@example.org", "s", "b")
    assert inbox.messages == []


def test_an_unreachable_server_is_a_delivery_error_that_names_no_address(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    closed = free_port()  # nothing listens there
    outbox = SmtpEmailOutbox(SmtpSettings("127.0.0.1", closed, timeout_seconds=2))
    with pytest.raises(MailDeliveryError, match="ConnectionRefusedError") as refused:
        outbox.send("person@example.org", "Your code", "Your login code is 123456.")
    assert "person@example.org" not in str(refused.value)
    assert "person@example.org" not in caplog.text and "123456" not in caplog.text
    assert "mail delivery failed" in caplog.text


def test_the_file_outbox_is_the_default_and_smtp_needs_a_host(tmp_path: Path) -> None:
    assert isinstance(email_outbox(Settings(data_dir=tmp_path)), FileEmailOutbox)
    with pytest.raises(ValueError, match="smtp_host"):
        email_outbox(Settings(data_dir=tmp_path, email_transport="smtp"))


def test_the_file_outbox_keeps_0600_files_without_the_address_and_removes_used_codes(
    tmp_path: Path,
) -> None:
    outbox = FileEmailOutbox(tmp_path / "outbox")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)
    outbox.send(
        "person@example.org", "code", "Your login code is 111111.", reference="a", expires_at=later
    )
    outbox.send(
        "other@example.org", "code", "Your login code is 222222.", reference="b", expires_at=later
    )
    files = sorted((tmp_path / "outbox").iterdir())
    assert len(files) == 2
    assert (tmp_path / "outbox").stat().st_mode & 0o777 == 0o700
    for f in files:
        assert f.stat().st_mode & 0o777 == 0o600
        assert "example" not in f.name and "person" not in f.name and "@" not in f.name
    outbox.withdraw("a")
    [left] = outbox.messages()
    assert "222222" in left.get_content()


def test_the_file_outbox_removes_expired_codes(tmp_path: Path) -> None:
    outbox = FileEmailOutbox(tmp_path / "outbox")
    now = dt.datetime.now(dt.UTC)
    outbox.send(
        "p@example.org", "code", "111111", reference="a", expires_at=now + dt.timedelta(minutes=1)
    )
    outbox.send("p@example.org", "notice", "no code")  # no expiry: kept
    assert outbox.sweep(now + dt.timedelta(minutes=2)) == 1
    [kept] = outbox.messages()
    assert kept["Subject"] == "notice"
    # an expired message also goes at the next send
    outbox.send(
        "p@example.org", "code", "333333", reference="c", expires_at=now - dt.timedelta(seconds=1)
    )
    outbox.send(
        "p@example.org", "code", "444444", reference="d", expires_at=now + dt.timedelta(minutes=5)
    )
    assert sorted(m.get_content().strip() for m in outbox.messages()) == ["444444", "no code"]
