"""The cipher's side of online master-key rotation (SPEC I3), with the in-memory
data-key store: reload on a missing key id, no new key under a retired one."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from carprivacy.adapters.crypto.envelope import EnvelopeCipher, Rewrap, rewrap_all
from carprivacy.adapters.crypto.master_key import MasterKeyRing, key_id, new_master_key
from carprivacy.domain.errors import CiphertextError, MasterKeyRetiredError
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
    assert keys.live_not_under(key_id(NEW)) == 0 and keys.retired_master_keys() == {key_id(OLD)}
    assert EnvelopeCipher(keys, MasterKeyRing(NEW)).decrypt("subject:a", blob) == b"x"


class CountingKeys(InMemoryDataKeyRepository):
    """The in-memory store, recording the size of each ``rewrap`` (one transaction each) and of
    each page read."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []
        self.pages: list[int] = []

    def live_page(self, after: str | None, limit: int, not_under: str):
        found = super().live_page(after, limit, not_under)
        self.pages.append(len(found))
        return found

    def rewrap(self, updates: list[Rewrap]) -> int:
        self.batches.append(len(updates))
        return super().rewrap(updates)


def test_a_pass_rewraps_in_chunks_and_skips_keys_already_under_the_new_key():
    keys = CountingKeys()
    cipher = EnvelopeCipher(keys, MasterKeyRing(OLD), cache_seconds=0)
    blobs = {f"subject:{i}": cipher.encrypt(f"subject:{i}", b"v") for i in range(7)}
    ring = MasterKeyRing(OLD, (NEW,))
    assert rewrap_all(keys, ring, NEW, key_id(NEW), chunk_size=3) == 7
    assert keys.batches == [3, 3, 1] and keys.pages == [3, 3, 1, 0]  # never all keys at once
    assert rewrap_all(keys, ring, NEW, key_id(NEW), chunk_size=3) == 0  # idempotent
    assert keys.batches == [3, 3, 1] and keys.pages == [3, 3, 1, 0, 0]
    fresh = EnvelopeCipher(keys, MasterKeyRing(NEW))
    assert all(fresh.decrypt(owner, blob) == b"v" for owner, blob in blobs.items())


def test_rewrap_is_a_compare_and_set_and_counts_only_keys_moved():
    keys = InMemoryDataKeyRepository()
    cipher = EnvelopeCipher(keys, MasterKeyRing(OLD), cache_seconds=0)
    for owner in ("subject:a", "subject:b", "subject:c"):
        cipher.encrypt(owner, b"v")
    keys.destroy("subject:c", NOW)
    moved = keys.rewrap(
        [
            Rewrap("subject:a", b"w" * 60, key_id(NEW), key_id(OLD)),
            Rewrap("subject:b", b"w" * 60, key_id(NEW), key_id(NEW)),  # not under that id
            Rewrap("subject:c", b"w" * 60, key_id(NEW), key_id(OLD)),  # destroyed
        ]
    )
    assert moved == 1
    assert [(k.owner, k.master_key_id) for k in keys.all_keys()] == [
        ("subject:a", key_id(NEW)),
        ("subject:b", key_id(OLD)),
        ("subject:c", None),
    ]
    assert keys.live_not_under(key_id(NEW)) == 1
    assert keys.live_master_key_ids() == {key_id(OLD), key_id(NEW)}


def test_the_rotation_lock_makes_a_second_holder_wait():
    keys = InMemoryDataKeyRepository()
    waited: list[bool] = []
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with keys.rotation_lock():
            held.set()
            release.wait(timeout=10)

    first = threading.Thread(target=hold)
    first.start()
    assert held.wait(timeout=10)
    second = threading.Thread(
        target=lambda: keys.rotation_lock(lambda: waited.append(True)).__enter__()
    )
    second.start()
    second.join(timeout=0.5)
    assert second.is_alive() and waited == [True]
    release.set()
    first.join(timeout=10)
    second.join(timeout=10)
    assert not second.is_alive()
