"""The development e-mail outbox: each message is a file (mode 0600) in ``data_dir/outbox``.

Nothing is logged: a message may hold a login code. A real deployment swaps in an SMTP adapter
behind the same ``EmailOutbox`` port.
"""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path


class FileEmailOutbox:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, to: str, subject: str, body: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        message = EmailMessage()
        message["To"] = to
        message["From"] = "carprivacy <no-reply@localhost>"
        message["Subject"] = subject
        message.set_content(body)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        path = self.directory / f"{stamp}-{secrets.token_hex(4)}.eml"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(message.as_bytes())

    def messages(self) -> list[EmailMessage]:
        """The messages in the outbox, oldest first (for the demo and tests)."""
        from email import message_from_bytes, policy

        out: list[EmailMessage] = []
        for path in sorted(self.directory.glob("*.eml")):
            msg = message_from_bytes(path.read_bytes(), policy=policy.default)
            assert isinstance(msg, EmailMessage)
            out.append(msg)
        return out
