"""The tamper-evident audit log (SPEC U3): hash chain, checkpoints, verification.

Each entry is a flat record of one decision (who, organisation, role, purpose, a
pseudonymous subject reference, categories, outcome, rule). Its hash is SHA-256 over the
canonical JSON of ALL its stored fields except the hash itself, including its sequence number
and the hash of the entry before it::

    hash(n) = SHA-256(canonical_json({seq: n, prev_hash: hash(n-1), ...fields}))

so changing any byte of any stored field, removing, inserting or reordering entries breaks the chain
at that entry.

A read of many records (a list page, an export chunk) is ONE entry naming its N subjects and
vehicles in ``subjects``/``vehicles`` (comma-separated keyed references, covered by the hash): one
access to N subjects, not N entries. Those two fields are left out of the hashed content when
empty, so the hash of an entry about one subject is what it always was.

Rewriting the tail of the chain consistently is caught by signed checkpoints: a
checkpoint signs (seq, entry hash, time) with a key that is not in the database.

Standard library only; signing and signature checks are passed in.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from enum import StrEnum

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class AuditRecord:
    """What is logged about one decision. No plaintext personal data: refs are keyed pseudonyms."""

    at: str  # ISO 8601 UTC with microseconds, e.g. 2026-11-25T12:00:00.000000+00:00
    caller_id: str
    organisation: str
    role: str
    purpose: str
    subject_ref: str  # keyed HMAC of the subject id, "" when none
    vehicle_ref: str  # keyed HMAC of the vehicle id, "" when none
    categories: str  # comma-separated category ids
    outcome: str  # allow | deny
    rule: str  # the deciding rule
    form: str  # the form of release, "" when denied
    action: str = "decision"
    subjects: str = ""  # a read of several subjects: their refs, comma-separated; else ""
    vehicles: str = ""  # a read of several vehicles: their refs, comma-separated; else ""


def _split(refs: str) -> tuple[str, ...]:
    return tuple(r for r in refs.split(",") if r) if refs else ()


@dataclass(frozen=True)
class AuditEntry:
    """A stored entry: the record, its place in the chain and its hash."""

    seq: int
    prev_hash: str
    at: str
    caller_id: str
    organisation: str
    role: str
    purpose: str
    subject_ref: str
    vehicle_ref: str
    categories: str
    outcome: str
    rule: str
    form: str
    action: str
    hash: str
    subjects: str = ""
    vehicles: str = ""

    def content(self) -> dict[str, object]:
        """Every stored field except ``hash`` (``subjects``/``vehicles`` only when not empty):
        what the hash covers."""
        out = {name: getattr(self, name) for name in CONTENT_FIELDS}
        for name in OPTIONAL_FIELDS:
            if not out[name]:
                del out[name]
        return out

    def subject_refs(self) -> tuple[str, ...]:
        """Every subject this entry is about: the one of ``subject_ref``, or the list's."""
        listed = _split(self.subjects)
        return (self.subject_ref, *listed) if self.subject_ref else listed

    def vehicle_refs(self) -> tuple[str, ...]:
        listed = _split(self.vehicles)
        return (self.vehicle_ref, *listed) if self.vehicle_ref else listed

    def recomputed_hash(self) -> str:
        return entry_hash(self.content())


ENTRY_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(AuditEntry))
CONTENT_FIELDS: tuple[str, ...] = tuple(n for n in ENTRY_FIELDS if n != "hash")
OPTIONAL_FIELDS: tuple[str, ...] = ("subjects", "vehicles")  # hashed only when not empty
RECORD_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(AuditRecord))
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def canonical_json(data: Mapping[str, object]) -> bytes:
    """Sorted keys, no whitespace, ASCII only: one byte string per value, on every platform."""
    return _ENCODER.encode(data).encode("ascii")


def entry_hash(content: Mapping[str, object]) -> str:
    return hashlib.sha256(canonical_json(content)).hexdigest()


def seal(record: AuditRecord, seq: int, prev_hash: str) -> AuditEntry:
    """Place ``record`` in the chain after the entry whose hash is ``prev_hash``."""
    content: dict[str, object] = {"seq": seq, "prev_hash": prev_hash}
    for name in RECORD_FIELDS:
        value = getattr(record, name)
        if value or name not in OPTIONAL_FIELDS:
            content[name] = value
    return AuditEntry(**content, hash=entry_hash(content))  # type: ignore[arg-type]


def seal_many(records: Sequence[AuditRecord], head: tuple[int, str] | None) -> list[AuditEntry]:
    """Chain ``records`` after ``head`` ((seq, hash) of the last stored entry, None if empty)."""
    seq, prev = head if head is not None else (0, GENESIS_HASH)
    out: list[AuditEntry] = []
    for record in records:
        seq += 1
        entry = seal(record, seq, prev)
        out.append(entry)
        prev = entry.hash
    return out


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement: "entry ``seq`` has hash ``entry_hash``", made at ``at``."""

    seq: int
    entry_hash: str
    at: str
    key_id: str
    signature: str  # base64 of the signature over ``checkpoint_payload``


def checkpoint_payload(seq: int, entry_hash_: str, at: str, key_id: str) -> bytes:
    return canonical_json(
        {
            "kind": "carprivacy.audit.checkpoint",
            "seq": seq,
            "hash": entry_hash_,
            "at": at,
            "key_id": key_id,
        }
    )


class Tamper(StrEnum):
    CHANGED = "changed"  # a field of the entry differs from what was hashed
    REMOVED = "removed"  # an entry is missing here
    INSERTED = "inserted"  # an entry that was never appended here
    REORDERED = "reordered"  # the entry belongs elsewhere in the chain
    CHECKPOINT = "checkpoint"  # a checkpoint's signature is invalid


@dataclass(frozen=True)
class Finding:
    """The first bad entry: its position in the list read, its seq and what happened."""

    position: int  # 0-based index in the entries as read (ordered by seq)
    seq: int  # the seq the chain expected at this position
    tamper: Tamper
    message: str

    def __str__(self) -> str:
        return f"entry #{self.seq} (position {self.position}): {self.tamper.value}: {self.message}"


@dataclass(frozen=True)
class Verification:
    entries_checked: int
    checkpoints_checked: int
    finding: Finding | None

    @property
    def ok(self) -> bool:
        return self.finding is None


SignatureCheck = Callable[[bytes, str, str], bool]  # (payload, signature, key_id) -> valid


def _link_problem(entries: Sequence[AuditEntry], pos: int, prev_hash: str) -> Finding | None:
    entry = entries[pos]
    expected_seq = pos + 1
    self_consistent = entry.recomputed_hash() == entry.hash
    if entry.seq == expected_seq and entry.prev_hash == prev_hash:
        if self_consistent:
            return None
        return Finding(pos, expected_seq, Tamper.CHANGED, "stored fields do not match its hash")
    if not self_consistent:
        return Finding(pos, expected_seq, Tamper.CHANGED, "stored fields do not match its hash")
    # The entry is intact but in the wrong place: find out what happened before it.
    if entry.seq > expected_seq and entry.prev_hash != prev_hash:
        # Its predecessor is not the entry before it: if its predecessor is further back, the
        # entries in between were inserted; otherwise entries were removed (or moved) here.
        back = _position_of_hash(entries, entry.prev_hash, pos)
        if back is not None and back < pos - 1:
            return Finding(back + 1, back + 2, Tamper.INSERTED, "not part of the chain")
        if any(e.seq == expected_seq for e in entries[pos + 1 :]):
            return Finding(pos, expected_seq, Tamper.REORDERED, f"found #{entry.seq} here")
        return Finding(
            pos,
            expected_seq,
            Tamper.REMOVED,
            f"entry #{expected_seq} is missing (found #{entry.seq})",
        )
    if entry.seq < expected_seq:
        back = _position_of_hash(entries, entry.prev_hash, pos)
        if back is not None and back < pos - 1 and entry.seq == back + 2:
            return Finding(back + 1, back + 2, Tamper.INSERTED, "not part of the chain")
        return Finding(pos, expected_seq, Tamper.REORDERED, f"found #{entry.seq} here")
    return Finding(pos, expected_seq, Tamper.REORDERED, "does not follow the entry before it")


def _position_of_hash(entries: Sequence[AuditEntry], h: str, before: int) -> int | None:
    """Where the entry with hash ``h`` is, searching back from ``before``; -1 for the genesis."""
    if h == GENESIS_HASH:
        return -1
    for i in range(before - 1, -1, -1):
        if entries[i].hash == h:
            return i
    return None


def verify(
    entries: Sequence[AuditEntry],
    checkpoints: Sequence[Checkpoint],
    verify_sig: SignatureCheck,
) -> Verification:
    """Check the chain and the checkpoints; return the FIRST bad entry, if any.

    ``entries`` are all stored entries ordered by seq. A checkpoint whose signature is valid pins
    the hash of its entry: an entry rewritten with a recomputed chain, or entries removed from
    the end, are found there.
    """
    prev = GENESIS_HASH
    first: Finding | None = None
    for pos in range(len(entries)):
        first = _link_problem(entries, pos, prev)
        if first is not None:
            break
        prev = entries[pos].hash
    checked = 0
    for cp in sorted(checkpoints, key=lambda c: c.seq):
        checked += 1
        payload = checkpoint_payload(cp.seq, cp.entry_hash, cp.at, cp.key_id)
        if not verify_sig(payload, cp.signature, cp.key_id):
            found = Finding(
                max(cp.seq - 1, 0),
                cp.seq,
                Tamper.CHECKPOINT,
                f"checkpoint at #{cp.seq} has an invalid signature",
            )
        elif cp.seq > len(entries):
            found = Finding(
                len(entries),
                len(entries) + 1,
                Tamper.REMOVED,
                f"checkpoint at #{cp.seq} covers entries that are missing",
            )
        elif entries[cp.seq - 1].hash != cp.entry_hash:
            found = _first_divergence(entries, cp.seq)
        else:
            continue
        if first is None or found.position < first.position:
            first = found
        break
    return Verification(len(entries), checked, first)


def _first_divergence(entries: Sequence[AuditEntry], seq: int) -> Finding:
    """The chain up to ``seq`` is self-consistent but not the one signed: a consistent rewrite.

    Without the original we can only say the signed entry changed; earlier checkpoints narrow it.
    """
    return Finding(seq - 1, seq, Tamper.CHANGED, f"hash differs from the signed checkpoint #{seq}")
