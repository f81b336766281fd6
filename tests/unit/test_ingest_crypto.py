"""Envelope encryption on the in-memory key store (SPEC I3, R3)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carprivacy.adapters.crypto.envelope import EnvelopeCipher, rewrap_all
from carprivacy.adapters.crypto.master_key import MasterKeyRing, decode_key, key_id, new_master_key
from carprivacy.domain.errors import CiphertextError, KeyDestroyedError
from carprivacy.testing.telemetry import InMemoryDataKeyRepository

MASTER = new_master_key()


def cipher(keys: InMemoryDataKeyRepository | None = None, master: bytes = MASTER) -> EnvelopeCipher:
    return EnvelopeCipher(keys or InMemoryDataKeyRepository(), MasterKeyRing(master))


@given(st.binary(max_size=2048), st.binary(max_size=64))
def test_round_trip(plaintext: bytes, aad: bytes):
    c = cipher()
    blob = c.encrypt("subject:a", plaintext, aad)
    assert c.decrypt("subject:a", blob, aad) == plaintext
    if len(plaintext) >= 8:
        assert plaintext not in blob


@given(st.integers(min_value=0), st.integers(min_value=0, max_value=255))
def test_any_changed_byte_is_detected(position: int, flip: int):
    c = cipher()
    blob = bytearray(c.encrypt("subject:a", b"52.0841,4.3176", b"row-1"))
    i = position % len(blob)
    blob[i] ^= flip or 1
    with pytest.raises(CiphertextError):
        c.decrypt("subject:a", bytes(blob), b"row-1")


def test_ciphertext_is_bound_to_owner_and_place():
    c = cipher()
    blob = c.encrypt("subject:a", b"secret", b"telemetry|v1|sig|t|mqtt")
    c.encrypt("subject:b", b"other", b"")
    with pytest.raises(CiphertextError):
        c.decrypt("subject:b", blob, b"telemetry|v1|sig|t|mqtt")
    with pytest.raises(CiphertextError):
        c.decrypt("subject:a", blob, b"telemetry|v2|sig|t|mqtt")


def test_one_key_per_owner_wrapped_by_the_master_key():
    keys = InMemoryDataKeyRepository()
    c = cipher(keys)
    for owner in ("subject:a", "subject:a", "vehicle:v1"):
        c.encrypt(owner, b"x")
    assert sorted(keys.keys) == ["subject:a", "vehicle:v1"]
    stored = keys.keys["subject:a"]
    assert stored.master_key_id == key_id(MASTER) and stored.wrapped is not None
    assert len(stored.wrapped) == 12 + 32 + 16  # nonce, AES-256 key, tag: never the bare key


def test_destroyed_key_shreds_the_data_and_blocks_new_data():
    keys = InMemoryDataKeyRepository()
    c = cipher(keys)
    blob = c.encrypt("subject:a", b"home address")
    c.destroy_key("subject:a")
    c.destroy_key("subject:a")  # idempotent
    with pytest.raises(KeyDestroyedError):
        c.decrypt("subject:a", blob)
    with pytest.raises(KeyDestroyedError):
        c.encrypt("subject:a", b"new")
    # another process, with its own cache, sees the same
    with pytest.raises(KeyDestroyedError):
        cipher(keys).decrypt("subject:a", blob)
    assert c.prepare(["subject:a", "subject:b"]) == {"subject:a"}


def test_another_process_destroying_a_key_is_seen_after_the_cache_time():
    keys = InMemoryDataKeyRepository()
    mine = EnvelopeCipher(keys, MasterKeyRing(MASTER), cache_seconds=0)
    blob = mine.encrypt("subject:a", b"x")
    cipher(keys).destroy_key("subject:a")
    with pytest.raises(KeyDestroyedError):
        mine.decrypt("subject:a", blob)


def test_a_wrong_master_key_opens_nothing():
    keys = InMemoryDataKeyRepository()
    blob = cipher(keys).encrypt("subject:a", b"x")
    with pytest.raises(CiphertextError):
        cipher(keys, new_master_key()).decrypt("subject:a", blob)


def test_rewrap_moves_every_live_key_and_keeps_the_data():
    keys = InMemoryDataKeyRepository()
    c = cipher(keys)
    blobs = {o: c.encrypt(o, o.encode()) for o in ("subject:a", "subject:b", "vehicle:c")}
    c.destroy_key("subject:b")
    new = new_master_key()
    assert rewrap_all(keys, MasterKeyRing(MASTER), new, key_id(new)) == 2
    after = cipher(keys, new)
    assert after.decrypt("subject:a", blobs["subject:a"]) == b"subject:a"
    assert after.decrypt("vehicle:c", blobs["vehicle:c"]) == b"vehicle:c"
    with pytest.raises(KeyDestroyedError):
        after.decrypt("subject:b", blobs["subject:b"])
    # an interrupted rotation is finished by running it again: nothing left to move
    assert rewrap_all(keys, MasterKeyRing(MASTER, (new,)), new, key_id(new)) == 0


def test_master_key_text_must_be_32_bytes_of_base64():
    import base64

    raw = new_master_key()
    assert decode_key(base64.b64encode(raw).decode()) == raw
    assert decode_key(base64.urlsafe_b64encode(raw).decode().rstrip("=")) == raw
    with pytest.raises(ValueError, match="32 bytes"):
        decode_key(base64.b64encode(b"short").decode())
