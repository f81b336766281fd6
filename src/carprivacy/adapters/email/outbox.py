"""The development e-mail outbox: each message is a file (mode 0600, in a 0700 folder) in
``data_dir/outbox``. For development only: ``email_transport = "smtp"`` sends real mail
(``adapters/email/smtp.py``).

A file name holds the message's expiry and a hash of its reference, never the address. A message
that carries a one-time code is removed when the code is used (``withdraw``) or has expired
(every ``send`` and ``withdraw`` sweeps the expired ones). Nothing is logged: a message may hold a
login code.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

SENDER = "carprivacy <no-reply@localhost>"
STAMP = "%Y%m%dT%H%M%S%fZ"
NEVER = "99991231T235959999999Z"


def compose(sender: str, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["To"] = to
    message["From"] = sender
    message["Subject"] = subject
    message.set_content(body)
    return message


def _tag(reference: str) -> str:
    return hashlib.sha256(reference.encode()).hexdigest()[:24]


class FileEmailOutbox:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(
        self,
        to: str,
        subject: str,
        body: str,
        *,
        reference: str | None = None,
        expires_at: datetime | None = None,
    ) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.directory, 0o700)
        self.sweep()
        message = compose(SENDER, to, subject, body)
        expiry = expires_at.astimezone(UTC).strftime(STAMP) if expires_at else NEVER
        tag = _tag(reference) if reference else secrets.token_hex(12)
        path = self.directory / f"{expiry}-{tag}-{secrets.token_hex(4)}.eml"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(message.as_bytes())

    def withdraw(self, reference: str) -> None:
        """The message of ``reference`` is no longer needed (its code was used): remove it."""
        if not self.directory.is_dir():
            return
        for path in self.directory.glob(f"*-{_tag(reference)}-*.eml"):
            path.unlink(missing_ok=True)
        self.sweep()

    def sweep(self, now: datetime | None = None) -> int:
        """Remove the messages whose code has expired; returns how many."""
        if not self.directory.is_dir():
            return 0
        stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime(STAMP)
        removed = 0
        for path in self.directory.glob("*.eml"):
            if path.name.split("-", 1)[0] < stamp:
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def messages(self) -> list[EmailMessage]:
        """The messages in the outbox, oldest expiry first (for the demo and tests)."""
        from email import message_from_bytes, policy

        out: list[EmailMessage] = []
        if not self.directory.is_dir():
            return out
        for path in sorted(self.directory.glob("*.eml")):
            msg = message_from_bytes(path.read_bytes(), policy=policy.default)
            assert isinstance(msg, EmailMessage)
            out.append(msg)
        return out
