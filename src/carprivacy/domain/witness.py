"""The audit log's witness (SPEC U3): signed heads kept outside the database, chained.

A witness head says "after the commit made at ``at``, the log's last entry was ``seq`` with hash
``entry_hash``". Each head carries the hash of the head before it (``prev``), so a head removed
from the witness breaks the witness chain; the first head is written when the log is created
(seq 0, the genesis hash), so an empty or young log is covered too.

``WitnessCheck`` compares a stream of entries with the stream of heads in constant memory: it
keeps the previous entry's hash and the next head, nothing else.

Standard library only; signing and signature checks are passed in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass

from carprivacy.domain.audit import (
    GENESIS_HASH,
    AuditEntry,
    Checkpoint,
    Finding,
    SignatureCheck,
    Tamper,
    canonical_json,
    checkpoint_payload,
)

WITNESS_GENESIS = "0" * 64


@dataclass(frozen=True)
class WitnessHead:
    seq: int  # the last entry's seq after a commit; 0 for the empty log
    entry_hash: str
    at: str
    prev: str  # the hash of the head before this one; WITNESS_GENESIS for the first
    key_id: str
    signature: str

    def payload(self) -> bytes:
        return witness_payload(self.seq, self.entry_hash, self.at, self.prev, self.key_id)

    def head_hash(self) -> str:
        return hashlib.sha256(canonical_json(asdict(self))).hexdigest()


def witness_payload(seq: int, entry_hash: str, at: str, prev: str, key_id: str) -> bytes:
    return canonical_json(
        {
            "kind": "carprivacy.audit.witness",
            "seq": seq,
            "hash": entry_hash,
            "at": at,
            "prev": prev,
            "key_id": key_id,
        }
    )


@dataclass(frozen=True)
class WitnessVerification:
    entries_checked: int
    heads_checked: int
    finding: Finding | None
    checkpoints_checked: int = 0

    @property
    def ok(self) -> bool:
        return self.finding is None


def _entry_problem(entry: AuditEntry, expected: int, prev_hash: str) -> Finding | None:
    pos = expected - 1
    if entry.seq != expected:
        if entry.seq > expected:
            return Finding(pos, expected, Tamper.REMOVED, f"missing (found #{entry.seq})")
        return Finding(pos, expected, Tamper.REORDERED, f"found #{entry.seq} here")
    if entry.recomputed_hash() != entry.hash:
        return Finding(pos, expected, Tamper.CHANGED, "stored fields do not match its hash")
    if entry.prev_hash != prev_hash:
        return Finding(pos, expected, Tamper.REORDERED, "does not follow the entry before it")
    return None


def check_against_witness(
    entries: Iterable[AuditEntry],
    heads: Iterable[WitnessHead] | None,
    verify_sig: SignatureCheck,
    checkpoints: Sequence[Checkpoint] = (),
) -> WitnessVerification:
    """The first bad entry of ``entries`` (ordered by seq) given the witness ``heads`` (in the
    order written) and the database's signed ``checkpoints`` (one per thousand entries or so).
    Streams entries and heads: memory does not grow with the log."""
    signed: dict[int, Checkpoint] = {}
    for cp in checkpoints:
        payload = checkpoint_payload(cp.seq, cp.entry_hash, cp.at, cp.key_id)
        if not verify_sig(payload, cp.signature, cp.key_id):
            return WitnessVerification(
                0,
                0,
                Finding(
                    max(cp.seq - 1, 0),
                    cp.seq,
                    Tamper.CHECKPOINT,
                    f"checkpoint at #{cp.seq} has an invalid signature",
                ),
            )
        signed[cp.seq] = cp
    top_checkpoint = max(signed, default=0)
    head_iter: Iterator[WitnessHead] = iter(heads if heads is not None else ())
    heads_checked = 0
    prev_head = WITNESS_GENESIS
    last_good_head = 0  # seq of the last head that matched the database
    witness_top = 0

    def next_head() -> WitnessHead | Finding | None:
        nonlocal heads_checked, prev_head, witness_top
        head = next(head_iter, None)
        if head is None:
            return None
        heads_checked += 1
        if not verify_sig(head.payload(), head.signature, head.key_id):
            return Finding(
                max(head.seq - 1, 0),
                head.seq,
                Tamper.CHECKPOINT,
                f"witness head for #{head.seq} has an invalid signature",
            )
        if head.prev != prev_head or head.seq < witness_top:
            return Finding(
                max(head.seq - 1, 0),
                max(head.seq, 1),
                Tamper.CHECKPOINT,
                f"witness chain broken before the head for #{head.seq}",
            )
        prev_head = head.head_hash()
        witness_top = head.seq
        return head

    pending = next_head()
    if isinstance(pending, Finding):
        return WitnessVerification(0, heads_checked, pending)
    if pending is None and heads is not None:
        return WitnessVerification(
            0, 0, Finding(0, 1, Tamper.REMOVED, "the witness holds no head (not created?)")
        )
    expected = 1
    prev_hash = GENESIS_HASH
    checked = 0

    def settle(seq: int, entry_hash: str) -> Finding | WitnessHead | None:
        """Consume every head at or below ``seq``; a mismatch at ``seq`` is a rewrite."""
        nonlocal pending, last_good_head
        while isinstance(pending, WitnessHead) and pending.seq <= seq:
            if pending.seq == seq and pending.entry_hash != entry_hash:
                first = last_good_head + 1
                where = f"#{first}" if first == seq else f"one of #{first}..#{seq}"
                return Finding(
                    first - 1,
                    first,
                    Tamper.CHANGED,
                    f"rewritten: hash of #{seq} differs from the witness; first bad is {where}",
                )
            if pending.seq == seq:
                last_good_head = seq
            pending = next_head()
        return pending if isinstance(pending, Finding) else None

    found = settle(0, GENESIS_HASH)
    if isinstance(found, Finding):
        return WitnessVerification(0, heads_checked, found)
    for entry in entries:
        problem = _entry_problem(entry, expected, prev_hash)
        if problem is not None:
            return WitnessVerification(checked, heads_checked, problem)
        checked += 1
        pinned = signed.get(entry.seq)
        if pinned is not None and pinned.entry_hash != entry.hash:
            return WitnessVerification(
                checked,
                heads_checked,
                Finding(
                    entry.seq - 1,
                    entry.seq,
                    Tamper.CHANGED,
                    f"hash differs from the signed checkpoint #{entry.seq}",
                ),
            )
        found = settle(entry.seq, entry.hash)
        if isinstance(found, Finding):
            return WitnessVerification(checked, heads_checked, found)
        prev_hash = entry.hash
        expected += 1
    while isinstance(pending, WitnessHead):  # heads beyond the database's last entry
        top = pending.seq
        pending = next_head()
        if isinstance(pending, Finding):
            return WitnessVerification(checked, heads_checked, pending)
        if top >= expected:
            return WitnessVerification(
                checked,
                heads_checked,
                Finding(
                    expected - 1,
                    expected,
                    Tamper.REMOVED,
                    f"truncated: the witness saw #{top}, the database ends at #{expected - 1}",
                ),
            )
    if isinstance(pending, Finding):
        return WitnessVerification(checked, heads_checked, pending)
    if top_checkpoint >= expected:
        return WitnessVerification(
            checked,
            heads_checked,
            Finding(
                expected - 1,
                expected,
                Tamper.REMOVED,
                f"checkpoint at #{top_checkpoint} covers entries that are missing",
            ),
        )
    return WitnessVerification(checked, heads_checked, None, len(signed))
