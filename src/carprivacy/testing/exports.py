"""In-memory fakes of the export ports: copies issued, receipts, quarantine; a transmitter."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from carprivacy.domain.exports import CopyIssue
from carprivacy.domain.telemetry import QuarantineRow
from carprivacy.services.exports.ports import TransmissionAnswer, TransmissionReceipt


@dataclass
class InMemoryExportStore:
    copies: list[CopyIssue] = field(default_factory=list)
    receipts: list[TransmissionReceipt] = field(default_factory=list)
    quarantined: list[tuple[int, QuarantineRow]] = field(default_factory=list)

    def copies_of(self, subject_id: str) -> list[CopyIssue]:
        return [c for c in self.copies if c.subject_id == subject_id]

    def add_copy(self, issue: CopyIssue) -> None:
        self.copies.append(issue)

    def add_receipt(self, receipt: TransmissionReceipt) -> None:
        self.receipts.append(receipt)

    def receipts_of(self, subject_id: str) -> list[TransmissionReceipt]:
        return [r for r in self.receipts if r.subject_id == subject_id]

    def quarantine_of(
        self, key_owner: str, after_id: int, limit: int
    ) -> list[tuple[int, QuarantineRow]]:
        rows = sorted(
            (x for x in self.quarantined if x[1].key_owner == key_owner and x[0] > after_id),
            key=lambda x: x[0],
        )
        return rows[:limit]


@dataclass
class FakeTransmitter:
    """Keeps what it was sent; answers ``status`` with ``body``."""

    status: int | None = 200
    body: bytes = b'{"received": true}'
    sent: list[tuple[str, bytes, str]] = field(default_factory=list)

    def post(self, endpoint: str, body: Iterable[bytes], content_type: str) -> TransmissionAnswer:
        self.sent.append((endpoint, b"".join(body), content_type))
        error = None if self.status is not None else "no answer"
        return TransmissionAnswer(self.status, self.body, error)
