"""The audit chain finds ANY single-byte change, removal, insertion or reorder, and names the
first bad entry (SPEC U3)."""

from __future__ import annotations

import dataclasses
import hashlib

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from carprivacy.domain.audit import (
    ENTRY_FIELDS,
    AuditEntry,
    AuditRecord,
    Checkpoint,
    Tamper,
    checkpoint_payload,
    seal,
    seal_many,
    verify,
)

KEY = b"test-signing-key"


def sign(payload: bytes) -> str:
    return hashlib.sha256(KEY + payload).hexdigest()


def check_sig(payload: bytes, signature: str, key_id: str) -> bool:
    return key_id == "k1" and sign(payload) == signature


def checkpoint(entry: AuditEntry) -> Checkpoint:
    at = "2026-11-25T13:00:00.000000+00:00"
    return Checkpoint(
        entry.seq, entry.hash, at, "k1", sign(checkpoint_payload(entry.seq, entry.hash, at, "k1"))
    )


text = st.text(alphabet=st.sampled_from("abcXYZ_.,:0é€"), max_size=10)
records = st.builds(
    AuditRecord,
    at=st.sampled_from(["2026-11-25T12:00:00.000000+00:00", "2026-11-25T12:00:01.500000+00:00"]),
    caller_id=text,
    organisation=st.sampled_from(["bmw_nl", "dealer", "rnd"]),
    role=st.sampled_from(["dealer", "privacy_officer"]),
    purpose=text,
    subject_ref=st.text("0123456789abcdef", min_size=0, max_size=32),
    vehicle_ref=st.text("0123456789abcdef", min_size=0, max_size=32),
    categories=text,
    outcome=st.sampled_from(["allow", "deny"]),
    rule=text,
    form=st.sampled_from(["", "identified", "pseudonymised"]),
)
chains = st.lists(records, min_size=1, max_size=12).map(lambda rs: seal_many(rs, None))


def one_byte_changed(value: object, index: int, new_byte: int) -> object:
    """Change one byte of the stored form of ``value`` (digits stay digits for integers)."""
    if isinstance(value, int):
        digits = bytearray(str(value).encode())
        i = index % len(digits)
        choices = [d for d in b"0123456789" if d != digits[i]]
        digits[i] = choices[new_byte % len(choices)]
        return int(digits.decode())
    raw = bytearray(str(value).encode("utf-8"))
    if not raw:
        return chr(0x20 + new_byte % 95)  # an empty field that gained a byte
    i = index % len(raw)
    replacement = new_byte % 256
    if replacement == raw[i]:
        replacement = (replacement + 1) % 256
    raw[i] = replacement
    return raw.decode("utf-8", errors="surrogateescape")


def test_an_untouched_chain_verifies_with_its_checkpoints() -> None:
    entries = seal_many(
        [AuditRecord("t", "c", "o", "r", "p", "s", "v", "a", "allow", "x", "")] * 5, None
    )
    result = verify(entries, [checkpoint(entries[2]), checkpoint(entries[4])], check_sig)
    assert result.ok and result.entries_checked == 5 and result.checkpoints_checked == 2


@settings(max_examples=300)
@given(chains, st.data())
def test_any_single_byte_change_of_any_field_is_found_at_that_entry(
    entries: list[AuditEntry], data: st.DataObject
) -> None:
    pos = data.draw(st.integers(0, len(entries) - 1))
    name = data.draw(st.sampled_from(ENTRY_FIELDS))
    index = data.draw(st.integers(0, 200))
    new_byte = data.draw(st.integers(0, 255))
    victim = entries[pos]
    changed = one_byte_changed(getattr(victim, name), index, new_byte)
    assert changed != getattr(victim, name)
    tampered = list(entries)
    tampered[pos] = dataclasses.replace(victim, **{name: changed})
    result = verify(tampered, [], check_sig)
    assert not result.ok
    assert result.finding is not None and result.finding.position == pos
    assert result.finding.tamper is Tamper.CHANGED


@settings(max_examples=200)
@given(chains.filter(lambda es: len(es) >= 2), st.data())
def test_a_removed_entry_is_found_where_it_was(
    entries: list[AuditEntry], data: st.DataObject
) -> None:
    pos = data.draw(st.integers(0, len(entries) - 1))
    tampered = entries[:pos] + entries[pos + 1 :]
    # removing the last entry is visible only against a checkpoint that covers it
    result = verify(tampered, [checkpoint(entries[-1])], check_sig)
    assert result.finding is not None
    assert result.finding.position == pos and result.finding.seq == pos + 1
    assert result.finding.tamper is Tamper.REMOVED


@settings(max_examples=200)
@given(chains, records, st.data(), st.booleans())
def test_an_inserted_entry_is_found_even_when_forged_with_a_valid_hash(
    entries: list[AuditEntry], record: AuditRecord, data: st.DataObject, forge: bool
) -> None:
    pos = data.draw(st.integers(0, len(entries)))
    prev = entries[pos - 1].hash if pos else "0" * 64
    intruder = seal(record, pos + 1, prev)
    # an exact copy of the entry it precedes is the same tampering as a copy after it
    assume(pos == len(entries) or intruder != entries[pos])
    # A well-formed entry appended after the last checkpoint is a legitimate append as far as an
    # unkeyed hash can tell: the next checkpoint pins it. Everything else is found.
    assume(not (forge and pos == len(entries)))
    if not forge:
        intruder = dataclasses.replace(intruder, hash="f" * 64)
    tampered = entries[:pos] + [intruder] + entries[pos:]
    cps = [checkpoint(entries[-1])]
    result = verify(tampered, cps, check_sig)
    assert result.finding is not None and result.finding.position == pos


@settings(max_examples=200)
@given(chains.filter(lambda es: len(es) >= 2), st.data())
def test_reordered_entries_are_found_at_the_first_moved_one(
    entries: list[AuditEntry], data: st.DataObject
) -> None:
    i = data.draw(st.integers(0, len(entries) - 2))
    j = data.draw(st.integers(i + 1, len(entries) - 1))
    tampered = list(entries)
    tampered[i], tampered[j] = tampered[j], tampered[i]
    result = verify(tampered, [], check_sig)
    assert result.finding is not None and result.finding.position == i
    assert result.finding.tamper is Tamper.REORDERED


def test_a_consistently_rewritten_chain_is_caught_by_the_signed_checkpoint() -> None:
    base = AuditRecord("t", "c", "o", "r", "p", "s", "v", "a", "allow", "x", "")
    entries = seal_many([base] * 4, None)
    cps = [checkpoint(entries[1]), checkpoint(entries[3])]
    forged = seal_many([base] * 2 + [dataclasses.replace(base, outcome="deny")] * 2, None)
    result = verify(forged, cps, check_sig)
    assert result.finding is not None and result.finding.seq == 4
    assert "checkpoint" in result.finding.message


def test_a_checkpoint_with_a_bad_signature_is_reported() -> None:
    entries = seal_many(
        [AuditRecord("t", "c", "o", "r", "p", "s", "v", "a", "allow", "x", "")], None
    )
    cp = dataclasses.replace(checkpoint(entries[0]), signature="00")
    result = verify(entries, [cp], check_sig)
    assert result.finding is not None and result.finding.tamper is Tamper.CHECKPOINT
