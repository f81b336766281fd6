"""In-memory fakes of the audit ports: the AuditTrail, the audit-log repository and the
checkpoint signer."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from carprivacy.domain.access import Decision, DecisionRequest
from carprivacy.domain.audit import AuditEntry, Checkpoint
from carprivacy.domain.errors import AuditChainConflictError
from carprivacy.domain.witness import WitnessHead
from carprivacy.services.audit.trail import AuditQuery


@dataclass
class InMemoryAuditTrail:
    """Keeps every recorded (request, decision) pair, in order."""

    records: list[tuple[DecisionRequest, Decision]] = field(default_factory=list)
    transactions: list[int] = field(default_factory=list)  # entries per append
    reads: list[list[tuple[DecisionRequest, Decision]]] = field(default_factory=list)

    def record(self, request: DecisionRequest, decision: Decision) -> None:
        self.records.append((request, decision))
        self.transactions.append(1)

    def record_many(self, pairs: Sequence[tuple[DecisionRequest, Decision]]) -> None:
        """The batch is one transaction (``transactions`` counts them)."""
        self.records.extend(pairs)
        self.transactions.append(len(pairs))

    def record_read(self, pairs: Sequence[tuple[DecisionRequest, Decision]]) -> None:
        """One read of several records (``reads`` keeps each); its decisions are kept in
        ``records`` too, in one transaction."""
        self.reads.append(list(pairs))
        self.record_many(pairs)

    @property
    def decisions(self) -> list[Decision]:
        return [d for _, d in self.records]


@dataclass
class InMemoryAuditLogRepository:
    entries: list[AuditEntry] = field(default_factory=list)
    stored_checkpoints: list[Checkpoint] = field(default_factory=list)

    def head(self) -> tuple[int, str] | None:
        return (self.entries[-1].seq, self.entries[-1].hash) if self.entries else None

    def append(self, entries: Sequence[AuditEntry]) -> None:
        expected = (self.entries[-1].seq if self.entries else 0) + 1
        if entries and entries[0].seq != expected:
            raise AuditChainConflictError("seq taken")
        self.entries.extend(entries)

    def iter_entries(self, batch: int = 5000) -> Iterator[AuditEntry]:
        return iter(list(self.entries))

    def find(self, query: AuditQuery) -> list[AuditEntry]:
        out = []
        for e in self.entries:
            if e.seq <= query.after_seq:
                continue
            if query.caller_id and e.caller_id != query.caller_id:
                continue
            if query.subject_ref and query.subject_ref not in e.subject_refs():
                continue
            if query.purpose and e.purpose != query.purpose:
                continue
            if query.outcome and e.outcome != query.outcome:
                continue
            if query.since and e.at < query.since:
                continue
            if query.until and e.at >= query.until:
                continue
            out.append(e)
            if len(out) >= query.limit:
                break
        return out

    def add_checkpoint(self, checkpoint: Checkpoint) -> None:
        self.stored_checkpoints.append(checkpoint)

    def checkpoints(self) -> list[Checkpoint]:
        return sorted(self.stored_checkpoints, key=lambda c: c.seq)


class FakeCheckpointSigner:
    """The ``CheckpointSigner`` port with HMAC-SHA256 instead of Ed25519. Still honest: a
    signature over another payload, a forged one, or one made under another key does not check."""

    def __init__(self, key: bytes = b"fake checkpoint signing key") -> None:
        self._key = key
        self._key_id = hashlib.sha256(b"fake-checkpoint-key:" + key).hexdigest()[:16]

    @property
    def key_id(self) -> str:
        return self._key_id

    def sign(self, payload: bytes) -> str:
        return base64.b64encode(hmac.new(self._key, payload, hashlib.sha256).digest()).decode()

    def check(self, payload: bytes, signature: str, key_id: str) -> bool:
        if key_id != self.key_id:
            return False
        try:
            given = base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(given, hmac.new(self._key, payload, hashlib.sha256).digest())


@dataclass
class InMemoryAuditWitness:
    """The witness port in memory: a list appended to, never rewritten by the code under test."""

    stored: list[WitnessHead] = field(default_factory=list)

    def extend(
        self, build: Callable[[WitnessHead | None], WitnessHead | None]
    ) -> WitnessHead | None:
        head = build(self.last())
        if head is not None:
            self.stored.append(head)
        return head

    def last(self) -> WitnessHead | None:
        return self.stored[-1] if self.stored else None

    def heads(self) -> Iterator[WitnessHead]:
        return iter(list(self.stored))
