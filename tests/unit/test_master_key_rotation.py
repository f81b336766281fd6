"""The cipher's side of online master-key rotation (issue 3 item 5; SPEC I3), with the in-memory
data-key store: reload on a missing key id, no new key under a retired one."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from carprivacy.adapters.crypto.envelope import (
    CiphertextError,
    EnvelopeCipher,
    MasterKeyRetiredError,
    rewrap_all,
)
from carprivacy.adapters.crypto.master_key import MasterKeyRing, key_id, new_master_key
from carprivacy.testing.telemetry import InMemoryDataKeyRepository

OLD, NEW = new_master_key(), new_master_key()
NOW = datetime(2026, 1, 1, tzinfo=UTC)


class Rings:
    """A loader whose answer the test changes, counting the loads."""

    def __init__(self, ring: MasterKeyRing) -> None:
        self.ring, self.loads = ring, 0

    def __call__(self) -> MasterKeyRing:
        self.loads += 1
        return self.ring


def test_a_missing_key_id_reloads_the_ring_once_and_a_fixed_ring_fails():
    keys = InMemoryDataKeyRepository()
    rings = Rings(MasterKeyRing(OLD))
    cipher = EnvelopeCipher(keys, rings, cache_seconds=0)
    blob = cipher.encrypt("subject:a", b"51.9")
    rewrap_all(keys, MasterKeyRing(OLD), NEW, key_id(NEW))
    assert rings.loads == 1
    with pytest.raises(CiphertextError, match="not loaded"):
        cipher.decrypt("subject:a", blob)  # the loader still answers the old ring
    assert rings.loads == 2
    rings.ring = MasterKeyRing(NEW)
    assert cipher.decrypt("subject:a", blob) == b"51.9"
    assert cipher.decrypt("subject:a", blob) == b"51.9"
    assert rings.loads == 3  # no reload on a hit
    fixed = EnvelopeCipher(keys, MasterKeyRing(OLD), cache_seconds=0)
    with pytest.raises(CiphertextError, match="not loaded"):
        fixed.decrypt("subject:a", blob)


def test_new_keys_go_under_the_waiting_key_and_never_under_a_retired_one():
    keys = InMemoryDataKeyRepository()
    rings = Rings(MasterKeyRing(OLD))
    cipher = EnvelopeCipher(keys, rings, cache_seconds=0)
    keys.retire_master_key(key_id(OLD), NOW)
    with pytest.raises(MasterKeyRetiredError, match="master_key_id"):
        cipher.encrypt("subject:a", b"x")  # reloaded, still only the retired key
    assert keys.all_keys() == []
    rings.ring = MasterKeyRing(OLD, (NEW,))  # `.next` written
    blob = cipher.encrypt("subject:a", b"x")
    assert [k.master_key_id for k in keys.all_keys()] == [key_id(NEW)]
    assert keys.live_under({key_id(OLD)}) == 0 and keys.retired_master_keys() == {key_id(OLD)}
    assert EnvelopeCipher(keys, MasterKeyRing(NEW)).decrypt("subject:a", blob) == b"x"


class CountingKeys(InMemoryDataKeyRepository):
    """The in-memory store, recording the size of each ``rewrap`` (one transaction each)."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []

    def rewrap(self, updates: list[tuple[str, bytes, str]]) -> None:
        self.batches.append(len(updates))
        super().rewrap(updates)


def test_a_pass_rewraps_in_chunks_and_skips_keys_already_under_the_new_key():
    keys = CountingKeys()
    cipher = EnvelopeCipher(keys, MasterKeyRing(OLD), cache_seconds=0)
    blobs = {f"subject:{i}": cipher.encrypt(f"subject:{i}", b"v") for i in range(7)}
    ring = MasterKeyRing(OLD, (NEW,))
    assert rewrap_all(keys, ring, NEW, key_id(NEW), chunk_size=3) == 7
    assert keys.batches == [3, 3, 1]
    assert rewrap_all(keys, ring, NEW, key_id(NEW), chunk_size=3) == 0  # idempotent
    assert keys.batches == [3, 3, 1]
    fresh = EnvelopeCipher(keys, MasterKeyRing(NEW))
    assert all(fresh.decrypt(owner, blob) == b"v" for owner, blob in blobs.items())
