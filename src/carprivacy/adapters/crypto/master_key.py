"""The master key that wraps every data key: kept outside the database.

Sources, first match wins: ``CARPRIVACY_MASTER_KEY`` (base64 of 32 bytes), else the key file
(``CARPRIVACY_MASTER_KEY_FILE``, default ``<data_dir>/master.key``), which the embedded default
creates on first run with mode 0600. During a rotation the new key waits in ``<file>.next`` until
every data key is re-wrapped; a ring holds both so that an interrupted rotation loses nothing, and
new data keys are wrapped by the waiting key (``MasterKeyRing.newest``). Running processes reload
the ring when they meet a key id they lack (docs/adr/master-key-rotation.md).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path

from carprivacy.adapters.keyfile import read_or_create_secret, read_private, write_private
from carprivacy.config import Settings

log = logging.getLogger(__name__)

KEY_BYTES = 32


def key_id(key: bytes) -> str:
    """A short public fingerprint of a master key (which key wrapped a data key)."""
    return hashlib.sha256(b"carprivacy-master-key-id|" + key).hexdigest()[:16]


def decode_key(text: str) -> bytes:
    text = text.strip()
    for decoder in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            raw = decoder(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            continue
        if len(raw) == KEY_BYTES:
            return raw
    raise ValueError("CARPRIVACY_MASTER_KEY must be base64 of 32 bytes")


@dataclass(frozen=True)
class MasterKeyRing:
    """The current master key and, during a rotation, the new one waiting in ``.next``."""

    current: bytes
    others: tuple[bytes, ...] = ()
    file: Path | None = None  # None: the key came from the environment

    @property
    def current_id(self) -> str:
        return key_id(self.current)

    @property
    def newest(self) -> bytes:
        """The key that wraps new data keys: the waiting ``.next`` key during a rotation."""
        return self.others[-1] if self.others else self.current

    @property
    def newest_id(self) -> str:
        return key_id(self.newest)

    def by_id(self, ident: str) -> bytes | None:
        for key in (self.current, *self.others):
            if key_id(key) == ident:
                return key
        return None


def next_key_file(path: Path) -> Path:
    return path.with_name(path.name + ".next")


def encode_key(key: bytes) -> bytes:
    """The content of a key file: URL-safe base64 and a newline."""
    return base64.urlsafe_b64encode(key) + b"\n"


def write_key_file(path: Path, key: bytes) -> None:
    """Write ``key`` atomically with mode 0600 (file fsync, rename, directory fsync)."""
    write_private(path, encode_key(key))


def _read_key_file(path: Path) -> bytes:
    return decode_key(read_private(path))


def load_master_key(settings: Settings) -> MasterKeyRing:
    if settings.master_key is not None:
        return MasterKeyRing(decode_key(settings.master_key.get_secret_value()))
    path = settings.resolved_master_key_file
    # ``.next`` before the key file: a rotation that ends meanwhile moves ``.next`` onto the key
    # file, so the ring still holds the new key (the other order could miss it).
    pending = next_key_file(path)
    waiting = _read_waiting(pending)
    key, created = read_or_create_secret(path, KEY_BYTES)
    if created:
        log.warning("created a new master key file at %s (mode 0600); back it up", path)
    others = (waiting,) if waiting is not None and waiting != key else ()
    return MasterKeyRing(key, others, path)


def _read_waiting(path: Path) -> bytes | None:
    try:
        return _read_key_file(path)
    except FileNotFoundError:
        return None


def new_master_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)
