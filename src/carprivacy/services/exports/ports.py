"""The ports of the access copy and data portability (SPEC R1, R6)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from carprivacy.domain.exports import CopyIssue
from carprivacy.domain.telemetry import QuarantineRow


@dataclass(frozen=True)
class TransmissionReceipt:
    """What a direct transmission to another controller (Art. 20(2)) sent and got back.

    ``endpoint`` and ``answer`` are the person's (where their data went, what the other controller
    said): the store keeps them sealed under the person's data key."""

    id: str
    subject_id: str
    at: datetime
    caller_id: str
    endpoint: str
    format: str
    status: str  # delivered | refused (the endpoint answered non-2xx) | failed (no answer)
    http_status: int | None
    digest: str  # sha256 of the bytes sent, hex
    bytes_sent: int
    answer: str  # the endpoint's answer (its first bytes), or why there was none


@dataclass(frozen=True)
class TransmissionAnswer:
    status: int | None  # the HTTP status; None: no answer (TLS, connection, time-out)
    body: bytes  # the answer's first bytes
    error: str | None = None  # why there was no answer (no personal data)


class ExportStore(Protocol):
    """Copies issued, transmission receipts, and a subject's quarantined records."""

    def copies_of(self, subject_id: str) -> list[CopyIssue]:
        """Every copy given to the subject, oldest first."""
        ...

    def add_copy(self, issue: CopyIssue) -> None: ...

    def add_receipt(self, receipt: TransmissionReceipt) -> None: ...

    def receipts_of(self, subject_id: str) -> list[TransmissionReceipt]:
        """The subject's transmission receipts, oldest first (endpoint and answer opened)."""
        ...

    def quarantine_of(
        self, key_owner: str, after_id: int, limit: int
    ) -> list[tuple[int, QuarantineRow]]:
        """(id, row) of the quarantined records sealed under ``key_owner``, by id, after
        ``after_id``: at most ``limit``."""
        ...


class Transmitter(Protocol):
    """Sends an export to another controller's HTTPS endpoint (the certificate verified)."""

    def post(self, endpoint: str, body: Iterable[bytes], content_type: str) -> TransmissionAnswer:
        """POST ``body`` (streamed) to ``endpoint``; an answer, or why there was none."""
        ...
