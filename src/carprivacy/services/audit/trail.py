"""The audit trail (SPEC U3): every decision, allow and deny, appended to a
hash-chained log with signed checkpoints; verification reports the first bad entry.

The log holds no plaintext personal data: subjects and vehicles appear as keyed HMAC pseudonyms
(``subject_ref``/``vehicle_ref``), so an auditor can follow one subject without learning who it is.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from carprivacy.domain.access import Decision, DecisionRequest
from carprivacy.domain.audit import (
    GENESIS_HASH,
    AuditEntry,
    AuditRecord,
    Checkpoint,
    checkpoint_payload,
    seal_many,
)
from carprivacy.domain.errors import AuditChainConflictError
from carprivacy.domain.witness import (
    WITNESS_GENESIS,
    WitnessHead,
    WitnessVerification,
    check_against_witness,
    witness_payload,
)
from carprivacy.services.audit.ports import AuditLogRepository, AuditWitness, CheckpointSigner
from carprivacy.services.ports.clock import Clock

# ``DecisionRequest.extra`` key: the caller that asked on behalf of ``request.caller``. The entry
# then names the asker as caller_id, the caller decided for (id, organisation, role) in
# ``action``, and keeps that caller's organisation and role (what the decision depended on).
ASKED_BY = "asked_by"


@dataclass(frozen=True)
class AuditQuery:
    caller_id: str | None = None
    subject_ref: str | None = None
    purpose: str | None = None
    outcome: str | None = None
    since: str | None = None  # ISO times, compared as stored (UTC, fixed format)
    until: str | None = None
    after_seq: int = 0
    limit: int = 100


def _refs(kind: str, refs: list[str]) -> dict[str, str]:
    """One ref in the entry's own field, several in its list (``subjects``/``vehicles``)."""
    if len(refs) == 1:
        return {f"{kind}_ref": refs[0]}
    return {f"{kind}s": ",".join(refs)} if refs else {}


def iso(at: datetime) -> str:
    """The one stored time format: UTC with microseconds (sorts as text)."""
    if at.tzinfo is None:
        raise ValueError("audit times must carry a time zone")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


REF_CACHE = 65_536

Observer = Callable[[Sequence[AuditEntry]], object]


class AuditService:
    """Appends decisions to the chain; signs checkpoints; verifies."""

    def __init__(
        self,
        repository: AuditLogRepository,
        signer: CheckpointSigner,
        pseudonym_key: bytes,
        clock: Clock,
        *,
        checkpoint_every: int = 1000,
        witness: AuditWitness | None = None,
    ) -> None:
        self.witness = witness
        self.repository = repository
        self.signer = signer
        self._pseudonym_key = pseudonym_key
        self.clock = clock
        self.checkpoint_every = checkpoint_every
        self.observers: list[Observer] = []
        self._lock = threading.Lock()
        self._head: tuple[int, str] | None = None
        self._head_known = False
        self._last_checkpoint: int | None = None
        self._refs: dict[str, str] = {}  # pseudonyms made, up to REF_CACHE of them

    # -- pseudonyms ---------------------------------------------------------------------------
    def ref(self, kind: str, ident: str | None) -> str:
        """Keyed pseudonym of a subject or vehicle id; "" for none. Stable, not reversible."""
        if not ident:
            return ""
        key = f"{kind}:{ident}"
        known = self._refs.get(key)
        if known is None:
            if len(self._refs) >= REF_CACHE:
                self._refs.clear()
            mac = hmac.new(self._pseudonym_key, key.encode(), hashlib.sha256)
            known = self._refs[key] = mac.hexdigest()[:32]
        return known

    def subject_ref(self, subject_id: str | None) -> str:
        return self.ref("subject", subject_id)

    def vehicle_ref(self, vehicle_id: str | None) -> str:
        return self.ref("vehicle", vehicle_id)

    # -- appending ----------------------------------------------------------------------------
    def to_record(self, request: DecisionRequest, decision: Decision, at: datetime) -> AuditRecord:
        return AuditRecord(
            at=iso(at),
            caller_id=request.extra.get(ASKED_BY) or request.caller.id,
            organisation=request.caller.organisation,
            role=request.caller.role.value,
            purpose=request.purpose,
            # the subject the engine resolved (a vehicle-only read names the vehicle's user at
            # ``at``), so monitoring counts vehicle reads per subject too (U3)
            subject_ref=self.subject_ref(decision.subject_id or request.subject_id),
            vehicle_ref=self.vehicle_ref(request.vehicle_id),
            categories=",".join(decision.categories or request.categories),
            outcome=decision.outcome.value,
            rule=decision.rule,
            form=decision.form.value if decision.form is not None and decision.allowed else "",
            action=request.extra.get("action", "decision")[:120],
        )

    def record(self, request: DecisionRequest, decision: Decision) -> None:
        self.record_many([(request, decision)])

    def record_many(self, pairs: Sequence[tuple[DecisionRequest, Decision]]) -> list[AuditEntry]:
        if not pairs:
            return []
        at = self.clock()
        return self.append([self.to_record(req, dec, at) for req, dec in pairs])

    def record_read(self, pairs: Sequence[tuple[DecisionRequest, Decision]]) -> list[AuditEntry]:
        """One read of several records (a list page, a chunk of an export): one entry per
        distinct decision (same caller, purpose, categories, outcome, rule, form, action), naming
        the subjects and vehicles of its records, instead of one entry per record: one access
        to N subjects. A read of one subject and vehicle gives the entry ``record`` would."""
        if not pairs:
            return []
        at = self.clock()
        groups: dict[tuple[object, ...], tuple[int, dict[str, None], dict[str, None]]] = {}
        for i, (q, d) in enumerate(pairs):
            key = (
                q.extra.get(ASKED_BY) or q.caller.id,
                q.caller.organisation,
                q.caller.role,
                q.purpose,
                d.categories or q.categories,
                d.outcome,
                d.rule,
                d.form if d.allowed else None,
                q.extra.get("action"),
            )
            group = groups.get(key)
            if group is None:
                group = groups[key] = (i, {}, {})
            subject = d.subject_id or q.subject_id
            if subject:
                group[1][subject] = None
            if q.vehicle_id:
                group[2][q.vehicle_id] = None
        records = []
        for first, subjects, vehicles in groups.values():
            record = self.to_record(*pairs[first], at)
            refs = {"subject_ref": "", "vehicle_ref": ""}
            refs.update(_refs("subject", [self.subject_ref(s) for s in subjects]))
            refs.update(_refs("vehicle", [self.vehicle_ref(v) for v in vehicles]))
            records.append(replace(record, **refs))
        return self.append(records)

    def append(self, records: Sequence[AuditRecord]) -> list[AuditEntry]:
        with self._lock:
            for _attempt in range(50):
                if not self._head_known:
                    self._head = self.repository.head()
                    self._head_known = True
                entries = seal_many(records, self._head)
                try:
                    self.repository.append(entries)
                except AuditChainConflictError:
                    self._head_known = False  # another process appended: re-read the head
                    continue
                self._head = (entries[-1].seq, entries[-1].hash)
                self._witness(entries[-1].seq, entries[-1].hash)
                break
            else:  # pragma: no cover - 50 lost races in a row
                raise AuditChainConflictError("could not append to the audit log")
            self._maybe_checkpoint(entries[-1])
        for observer in self.observers:
            observer(entries)
        return entries

    def _maybe_checkpoint(self, last: AuditEntry) -> None:
        if self._last_checkpoint is None:
            cps = self.repository.checkpoints()
            self._last_checkpoint = cps[-1].seq if cps else 0
        if last.seq - self._last_checkpoint >= self.checkpoint_every:
            self._sign(last)

    def _sign(self, entry: AuditEntry) -> Checkpoint:
        at = iso(self.clock())
        payload = checkpoint_payload(entry.seq, entry.hash, at, self.signer.key_id)
        cp = Checkpoint(entry.seq, entry.hash, at, self.signer.key_id, self.signer.sign(payload))
        self.repository.add_checkpoint(cp)
        self._last_checkpoint = entry.seq
        return cp

    def checkpoint(self) -> Checkpoint | None:
        """Sign the current head. None when the log is empty or the head is signed already."""
        with self._lock:
            head = self.repository.head()
            self._head, self._head_known = head, True
            if head is None:
                return None
            cps = self.repository.checkpoints()
            if cps and cps[-1].seq == head[0]:
                return None
            last = self.repository.find(AuditQuery(after_seq=head[0] - 1, limit=1))[0]
            return self._sign(last)

    # -- the witness ---------------------------------------------------------------------------
    def _next_head(self, seq: int, entry_hash: str, last: WitnessHead | None) -> WitnessHead:
        prev = last.head_hash() if last is not None else WITNESS_GENESIS
        at = iso(self.clock())
        key_id = self.signer.key_id
        signature = self.signer.sign(witness_payload(seq, entry_hash, at, prev, key_id))
        return WitnessHead(seq, entry_hash, at, prev, key_id, signature)

    def _witness(self, seq: int, entry_hash: str) -> WitnessHead | None:
        """Send the head of a commit to the witness (every commit: nothing is cut unseen)."""
        if self.witness is None:
            return None

        def build(last: WitnessHead | None) -> WitnessHead | None:
            if last is not None and last.seq >= seq:
                return None  # another process witnessed a later head already
            return self._next_head(seq, entry_hash, last)

        return self.witness.extend(build)

    def open_witness(self) -> WitnessHead | None:
        """Write the witness's first head (the current head, seq 0 for an empty log) when the
        witness is new, so a young log is covered from its creation."""
        if self.witness is None:
            return None
        with self._lock:
            head = self.repository.head()
            seq, h = head if head is not None else (0, GENESIS_HASH)

            def build(last: WitnessHead | None) -> WitnessHead | None:
                return None if last is not None else self._next_head(seq, h, None)

            return self.witness.extend(build)

    # -- reading ------------------------------------------------------------------------------
    def verify(self) -> WitnessVerification:
        """Stream the entries against the signed checkpoints and the witness's heads: the first
        bad entry, in memory that does not grow with the log."""
        heads = self.witness.heads() if self.witness is not None else None
        return check_against_witness(
            self.repository.iter_entries(),
            heads,
            self.signer.check,
            self.repository.checkpoints(),
        )

    def find(self, query: AuditQuery) -> list[AuditEntry]:
        return self.repository.find(query)
