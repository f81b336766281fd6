"""E-mail over SMTP (RFC 5321): STARTTLS (RFC 3207) with the server's certificate verified, and
AUTH (RFC 4954) when a user name is set. Chosen by ``email_transport = "smtp"``.

A message is handed to the server and is then the server's: ``withdraw`` has nothing to remove.
A delivery that fails (refused, unreachable, TLS or AUTH failed) raises ``MailDeliveryError``
naming only the kind of failure, and is logged the same way: smtplib's own errors can carry the
recipient's address, so they are neither chained nor logged.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime

from carprivacy.adapters.email.outbox import compose
from carprivacy.domain.errors import MailDeliveryError

log = logging.getLogger(__name__)


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
        try:
            self._deliver(to, subject, body)
        except (smtplib.SMTPException, OSError) as exc:  # ssl errors are OSErrors
            kind = type(exc).__name__
            log.warning("mail delivery failed: %s", kind)
            raise MailDeliveryError(f"mail delivery failed: {kind}") from None

    def _deliver(self, to: str, subject: str, body: str) -> None:
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
