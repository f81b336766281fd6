"""Envelope encryption (SPEC I3, R3): AES-256-GCM values under per-owner data keys,
each data key wrapped (AES-256-GCM) by the master key kept outside the database.

Owners are ``subject:<customer id>``, or ``vehicle:<vehicle id>`` for data linked to no person.
A value's ciphertext is ``0x01 | nonce (12) | ciphertext+tag``, with caller-given associated data
binding it to its place. ``destroy_key`` replaces the wrapped key with a tombstone: every ciphertext
of that owner becomes unreadable (crypto-shredding; backups of the database hold only the wrapped
key, and the tombstone prevents a new key from being created silently for an erased owner).

The master key ring comes from a loader: when a data key names a master key id the ring lacks
(a rotation ran in another process), the cipher reloads the ring once and retries; a new data key
that the store refuses because its wrapping key is retired makes it reload and wrap under the
newest key (online rotation, docs/adr/master-key-rotation.md). Neither touches the hot path.

A value kept through an erasure is moved, before the subject's key is shredded, to a successor
key (``reseal``): ``0x02 | n | successor owner (n bytes) | nonce | ciphertext+tag``, the successor
being ``<owner>/kept<generation>``; ``decrypt(owner, ...)`` opens it with the successor's key, so
every reader that asks for ``subject:<id>`` keeps reading what was kept (docs/erasure.md).

Unwrapped keys are cached per owner as ``AESGCM`` objects (building one per value halves the speed)
for ``cache_seconds``; another process's ``destroy_key`` takes effect here within that time.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from carprivacy.adapters.crypto.master_key import MasterKeyRing
from carprivacy.domain.errors import (
    CiphertextError,
    KeyDestroyedError,
    MasterKeyRetiredError,
    UnknownMasterKeyError,
)

VERSION = b"\x01"
RESEALED = b"\x02"  # the ciphertext names the successor key it is sealed under
NONCE = 12
REWRAP_CHUNK = 1_000  # data keys read and re-wrapped per page (one transaction) in a rotation


@dataclass(frozen=True)
class StoredDataKey:
    owner: str
    wrapped: bytes | None  # None: destroyed
    master_key_id: str | None
    created_at: datetime
    destroyed_at: datetime | None = None


@dataclass(frozen=True)
class Rewrap:
    """Move ``owner``'s data key to ``wrapped`` under ``master_key_id``, if it is still live and
    under ``was`` (the id the rotation read): compare-and-set."""

    owner: str
    wrapped: bytes
    master_key_id: str
    was: str


class DataKeyRepository(Protocol):
    """Where wrapped data keys live (the ``data_keys`` table, or memory in tests)."""

    def get_many(self, owners: Iterable[str]) -> dict[str, StoredDataKey]: ...

    def add_if_absent(self, key: StoredDataKey) -> None:
        """Store ``key`` unless the owner has one, or its ``master_key_id`` is retired."""
        ...

    def destroy(self, owner: str, at: datetime) -> None: ...

    def live_page(self, after: str | None, limit: int, not_under: str) -> list[StoredDataKey]:
        """Up to ``limit`` live keys not wrapped by ``not_under`` whose owner sorts after
        ``after`` (all owners if None), in owner order."""
        ...

    def rewrap(self, updates: list[Rewrap]) -> int:
        """Apply the compare-and-set updates in one transaction; returns the keys moved (callers
        keep the list short: ``rewrap_all`` sends one page at a time)."""
        ...

    def retire_master_key(self, master_key_id: str, at: datetime) -> None:
        """Record (idempotently) that no new data key may be wrapped by ``master_key_id``."""
        ...

    def retired_master_keys(self) -> set[str]: ...

    def live_master_key_ids(self) -> set[str]:
        """The master key ids that live data keys are wrapped by."""
        ...

    def live_not_under(self, master_key_id: str) -> int:
        """How many live data keys are wrapped by another id than ``master_key_id``, counted
        once every data key creation in progress has committed (the last check of a rotation)."""
        ...

    def rotation_lock(self, waiting: Callable[[], None] = ...) -> AbstractContextManager[None]:
        """Held for a whole rotation: one rotation at a time per store, from any host."""
        ...


def check_successor(owner: str, successor: str) -> None:
    if not successor.startswith(owner + "/kept") or len(successor.encode()) > 120:
        raise CiphertextError("a successor key is named <owner>/kept<n>")


def split_resealed(owner: str, blob: bytes) -> tuple[str, bytes]:
    """(successor owner, nonce + ciphertext) of a ``RESEALED`` blob asked for as ``owner``."""
    n = blob[1] if len(blob) > 1 else 0
    successor = blob[2 : 2 + n].decode("utf-8", "replace")
    check_successor(owner, successor)
    return successor, blob[2 + n :]


def _wrap_aad(owner: str) -> bytes:
    return b"carprivacy-data-key|" + owner.encode()


def wrap_key(master: bytes, owner: str, data_key: bytes) -> bytes:
    nonce = os.urandom(NONCE)
    return nonce + AESGCM(master).encrypt(nonce, data_key, _wrap_aad(owner))


def unwrap_key(master: bytes, owner: str, wrapped: bytes) -> bytes:
    try:
        return AESGCM(master).decrypt(wrapped[:NONCE], wrapped[NONCE:], _wrap_aad(owner))
    except InvalidTag as exc:
        raise CiphertextError("a data key does not unwrap under the master key") from exc


class EnvelopeCipher:
    """Implements ``carprivacy.services.ports.crypto.FieldCipher``."""

    def __init__(
        self,
        keys: DataKeyRepository,
        master: MasterKeyRing | Callable[[], MasterKeyRing],
        *,
        cache_seconds: float = 60.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """``master``: a fixed ring, or a loader (``load_master_key`` bound to the settings) that
        is called now and again whenever the ring misses a key id."""
        self._keys = keys
        self._loader: Callable[[], MasterKeyRing] = (
            (lambda: master) if isinstance(master, MasterKeyRing) else master
        )
        self._master = self._loader()
        self._cache: dict[str, tuple[AESGCM, float]] = {}
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._lock = threading.Lock()

    # --- FieldCipher -----------------------------------------------------------------------
    def encrypt(self, owner: str, plaintext: bytes, aad: bytes = b"") -> bytes:
        nonce = os.urandom(NONCE)
        return VERSION + nonce + self._aead(owner, create=True).encrypt(nonce, plaintext, aad)

    def encrypt_many(self, owner: str, items: Sequence[tuple[bytes, bytes]]) -> list[bytes]:
        """``encrypt`` of many (plaintext, associated data) pairs of one owner: the key is looked
        up once and the random nonces are drawn with one call (same format, each nonce random)."""
        encrypt = self._aead(owner, create=True).encrypt
        nonces = os.urandom(NONCE * len(items))
        out = []
        for i, (plaintext, aad) in enumerate(items):
            nonce = nonces[i * NONCE : (i + 1) * NONCE]
            out.append(VERSION + nonce + encrypt(nonce, plaintext, aad))
        return out

    def decrypt(self, owner: str, blob: bytes, aad: bytes = b"") -> bytes:
        if blob[:1] == RESEALED:
            successor, body = split_resealed(owner, blob)
            return self._open(successor, body, aad)
        if blob[:1] != VERSION:
            raise CiphertextError("unknown ciphertext format")
        return self._open(owner, blob[1:], aad)

    def _open(self, owner: str, body: bytes, aad: bytes) -> bytes:
        aead = self._aead(owner, create=False)
        try:
            return aead.decrypt(body[:NONCE], body[NONCE:], aad)
        except InvalidTag as exc:
            raise CiphertextError("ciphertext does not belong to this owner and place") from exc

    def reseal(self, owner: str, blob: bytes, aad: bytes, successor: str) -> bytes:
        """``blob`` (of ``owner``, at the place ``aad``) sealed again under ``successor``'s key
        (created if absent), in the format that names the successor. ``successor`` must be
        ``<owner>/kept<n>``. A blob already under ``successor`` is returned unchanged."""
        check_successor(owner, successor)
        if blob[:1] == RESEALED and split_resealed(owner, blob)[0] == successor:
            return blob
        plain = self.decrypt(owner, blob, aad)
        nonce = os.urandom(NONCE)
        sealed = self._aead(successor, create=True).encrypt(nonce, plain, aad)
        name = successor.encode()
        return RESEALED + bytes([len(name)]) + name + nonce + sealed

    def sealed_under(self, owner: str, blob: bytes) -> str:
        """The owner whose key ``blob`` needs: ``owner`` or a successor named in it."""
        return split_resealed(owner, blob)[0] if blob[:1] == RESEALED else owner

    def destroy_key(self, owner: str) -> None:
        with self._lock:
            self._keys.destroy(owner, self._clock())
            self._cache.pop(owner, None)

    # --- batch helpers ---------------------------------------------------------------------
    def prepare(self, owners: Iterable[str]) -> set[str]:
        """Load (or create) the keys of many owners with one lookup: ingestion calls this per
        batch so that the per-value path only touches the cache. Returns the destroyed owners."""
        now = time.monotonic()
        missing = [o for o in set(owners) if not self._fresh(o, now)]
        return self._load(missing, create=True) if missing else set()

    def is_destroyed(self, owner: str) -> bool:
        stored = self._keys.get_many([owner]).get(owner)
        return stored is not None and stored.wrapped is None

    # --- internals -------------------------------------------------------------------------
    def _fresh(self, owner: str, now: float) -> bool:
        hit = self._cache.get(owner)
        return hit is not None and now - hit[1] < self._cache_seconds

    def _aead(self, owner: str, *, create: bool) -> AESGCM:
        hit = self._cache.get(owner)
        if hit is not None and time.monotonic() - hit[1] < self._cache_seconds:
            return hit[0]
        if self._load([owner], create=create):
            raise KeyDestroyedError()
        return self._cache[owner][0]

    def _load(self, owners: list[str], *, create: bool) -> set[str]:
        with self._lock:
            found = self._keys.get_many(owners)
            absent = [o for o in owners if o not in found]
            if absent and create:
                found.update(self._create(absent))
            now = time.monotonic()
            destroyed: set[str] = set()
            for owner in owners:
                stored = found.get(owner)
                if stored is None or stored.wrapped is None:
                    self._cache.pop(owner, None)
                    destroyed.add(owner)
                    continue
                master = self._master_for(stored.master_key_id or "")
                self._cache[owner] = (AESGCM(unwrap_key(master, owner, stored.wrapped)), now)
            return destroyed

    def _create(self, owners: list[str]) -> dict[str, StoredDataKey]:
        """New data keys under the ring's newest master key; when the store refuses some (that
        key was retired by a rotation), reload the ring once and wrap those again."""
        found: dict[str, StoredDataKey] = {}
        for attempt in (1, 2):
            for owner in owners:
                data_key = AESGCM.generate_key(bit_length=256)
                wrapped = wrap_key(self._master.newest, owner, data_key)
                stored = StoredDataKey(owner, wrapped, self._master.newest_id, self._clock())
                self._keys.add_if_absent(stored)
            # another process may have won the race: read back what is stored
            found.update(self._keys.get_many(owners))
            owners = [o for o in owners if o not in found]
            if not owners:
                break
            if attempt == 1:
                self._master = self._loader()
        if owners:
            raise MasterKeyRetiredError(
                f"master_key_id {self._master.newest_id}: retired, no newer master key loaded"
            )
        return found

    def _master_for(self, ident: str) -> bytes:
        master = self._master.by_id(ident)
        if master is None:  # a rotation elsewhere: the key file or its .next changed
            self._master = self._loader()
            master = self._master.by_id(ident)
        if master is None:
            raise UnknownMasterKeyError(
                f"data key wrapped by master key {ident}: not loaded", ident
            )
        return master


def rewrap_all(
    keys: DataKeyRepository,
    ring: MasterKeyRing,
    new_master: bytes,
    new_id: str,
    progress: Callable[[int, int], None] = lambda done, total: None,
    chunk_size: int = REWRAP_CHUNK,
) -> int:
    """One pass: re-wrap every live data key not under ``new_id``, reading and updating
    ``chunk_size`` keys at a time (keyset pagination by owner; one transaction per page, so a
    SQLite writer waits for one page, never for the whole pass, and memory stays flat). Returns
    the keys actually moved. ``progress(done, total)`` counts the keys seen against those left at
    the start. Each update is a compare-and-set; the rotation's final count proves completeness."""
    total = keys.live_not_under(new_id)
    after: str | None = None
    moved = done = 0
    while page := keys.live_page(after, chunk_size, new_id):
        updates: list[Rewrap] = []
        for key in page:
            assert key.wrapped is not None
            ident = key.master_key_id or ""
            master = ring.by_id(ident)
            if master is None:
                raise UnknownMasterKeyError(
                    f"data key wrapped by unknown master key {ident}", ident
                )
            data_key = unwrap_key(master, key.owner, key.wrapped)
            updates.append(
                Rewrap(key.owner, wrap_key(new_master, key.owner, data_key), new_id, ident)
            )
            done += 1
            progress(done, max(total, done))
        moved += keys.rewrap(updates)
        after = page[-1].owner
    return moved
