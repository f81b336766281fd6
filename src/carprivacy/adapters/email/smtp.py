"""E-mail over SMTP (RFC 5321): STARTTLS (RFC 3207) with the server's certificate verified, and
AUTH (RFC 4954) when a user name is set. Chosen by ``email_transport = "smtp"``.

A message is handed to the server and is then the server's: ``withdraw`` has nothing to remove.
Nothing is logged (a message may hold a login code); a refused delivery raises
``smtplib.SMTPException`` or ``OSError`` without the message in it.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime

from carprivacy.adapters.email.outbox import compose


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 587
    username: str | None = None
    password: str | None = None
    starttls: bool = True
    sender: str = "carprivacy <no-reply@localhost>"
    timeout_seconds: float = 10.0


class SmtpEmailOutbox:
    def __init__(self, settings: SmtpSettings, context: ssl.SSLContext | None = None) -> None:
        """``context`` verifies the server's certificate (default: the system's CAs)."""
        self.settings = settings
        self.context = context or ssl.create_default_context()

    def send(
        self,
        to: str,
        subject: str,
        body: str,
        *,
        reference: str | None = None,
        expires_at: datetime | None = None,
    ) -> None:
        s = self.settings
        message = compose(s.sender, to, subject, body)
        with smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds) as smtp:
            smtp.ehlo()
            if s.starttls:
                smtp.starttls(context=self.context)
                smtp.ehlo()
            if s.username is not None:
                if not s.starttls:
                    raise smtplib.SMTPNotSupportedError("AUTH only over STARTTLS")
                # one attempt, AUTH PLAIN (RFC 4616) inside TLS: no fallback through mechanisms
                smtp.user, smtp.password = s.username, s.password or ""
                smtp.auth("PLAIN", smtp.auth_plain)
            smtp.send_message(message)

    def withdraw(self, reference: str) -> None:
        """Delivered mail is the recipient's: nothing is kept here to remove."""
