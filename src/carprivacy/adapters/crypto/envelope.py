"""Envelope encryption (issue 3 item 5; SPEC I3, R3): AES-256-GCM values under per-owner data keys,
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

Unwrapped keys are cached per owner as ``AESGCM`` objects (building one per value halves the speed)
for ``cache_seconds``; another process's ``destroy_key`` takes effect here within that time.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from carprivacy.adapters.crypto.master_key import MasterKeyRing
from carprivacy.domain.errors import KeyDestroyedError

VERSION = b"\x01"
NONCE = 12
REWRAP_CHUNK = 1_000  # data keys re-wrapped per transaction during a master-key rotation


class CiphertextError(ValueError):
    """The ciphertext was altered or belongs to another owner or place."""


class UnknownMasterKeyError(CiphertextError):
    """A data key names a master key id that neither the key file nor its ``.next`` holds."""

    def __init__(self, message: str, master_key_id: str) -> None:
        super().__init__(message)
        self.master_key_id = master_key_id


class MasterKeyRetiredError(RuntimeError):
    """A new data key would be wrapped by a retired master key (I3): restart the process with
    the new master key (``CARPRIVACY_MASTER_KEY``) or finish the rotation."""


@dataclass(frozen=True)
class StoredDataKey:
    owner: str
    wrapped: bytes | None  # None: destroyed
    master_key_id: str | None
    created_at: datetime
    destroyed_at: datetime | None = None


class DataKeyRepository(Protocol):
    """Where wrapped data keys live (the ``data_keys`` table, or memory in tests)."""

    def get_many(self, owners: Iterable[str]) -> dict[str, StoredDataKey]: ...

    def add_if_absent(self, key: StoredDataKey) -> None:
        """Store ``key`` unless the owner has one, or its ``master_key_id`` is retired."""
        ...

    def destroy(self, owner: str, at: datetime) -> None: ...

    def all_keys(self) -> list[StoredDataKey]: ...

    def rewrap(self, updates: list[tuple[str, bytes, str]]) -> None:
        """Replace (owner, wrapped, master_key_id) for live keys, in one transaction (callers
        keep the list short: ``rewrap_all`` sends ``REWRAP_CHUNK`` at a time)."""
        ...

    def retire_master_key(self, master_key_id: str, at: datetime) -> None:
        """Record (idempotently) that no new data key may be wrapped by ``master_key_id``."""
        ...

    def retired_master_keys(self) -> set[str]: ...

    def live_under(self, master_key_ids: Collection[str]) -> int:
        """How many live data keys are wrapped by these ids, counted once every data key
        creation in progress has committed (the last check of a rotation)."""
        ...


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
    """Implements ``carprivacy.services.crypto.FieldCipher``."""

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
        if blob[:1] != VERSION:
            raise CiphertextError("unknown ciphertext format")
        aead = self._aead(owner, create=False)
        try:
            return aead.decrypt(blob[1 : 1 + NONCE], blob[1 + NONCE :], aad)
        except InvalidTag as exc:
            raise CiphertextError("ciphertext does not belong to this owner and place") from exc

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
    """Re-wrap every live data key under ``new_master``, ``chunk_size`` keys per ``rewrap``
    (one transaction each: a SQLite writer waits for one chunk, never for the whole pass); returns
    the count. Each update is idempotent; the rotation's final count is what proves completeness."""
    stored = [k for k in keys.all_keys() if k.wrapped is not None]
    updates: list[tuple[str, bytes, str]] = []
    moved = 0
    for i, key in enumerate(stored, 1):
        assert key.wrapped is not None
        if key.master_key_id != new_id:
            master = ring.by_id(key.master_key_id or "")
            if master is None:
                ident = key.master_key_id or ""
                raise UnknownMasterKeyError(
                    f"data key wrapped by unknown master key {ident}", ident
                )
            data_key = unwrap_key(master, key.owner, key.wrapped)
            updates.append((key.owner, wrap_key(new_master, key.owner, data_key), new_id))
            if len(updates) == chunk_size:
                keys.rewrap(updates)
                moved, updates = moved + len(updates), []
        progress(i, len(stored))
    if updates:
        keys.rewrap(updates)
    return moved + len(updates)
