"""An in-memory :class:`~carprivacy.services.ports.crypto.FieldCipher`: real AES-256-GCM,
per-owner keys in a dict, no master key and no persistence. For tests and for users' tests."""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from carprivacy.domain.errors import CiphertextError, KeyDestroyedError

NONCE_BYTES = 12


class InMemoryFieldCipher:
    """Also the ``KeyResealer`` port: a resealed blob is remembered with its successor (the
    envelope cipher writes the successor's name into the blob instead)."""

    def __init__(self) -> None:
        self._keys: dict[str, AESGCM] = {}
        self._destroyed: set[str] = set()
        self._successors: dict[bytes, str] = {}

    def _key(self, owner: str, *, create: bool) -> AESGCM:
        if owner in self._destroyed:
            raise KeyDestroyedError("the data key of this owner was destroyed")
        key = self._keys.get(owner)
        if key is None:
            if not create:
                raise KeyDestroyedError("no data key for this owner")
            key = self._keys[owner] = AESGCM(AESGCM.generate_key(bit_length=256))
        return key

    def encrypt(self, owner: str, plaintext: bytes, aad: bytes = b"") -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._key(owner, create=True).encrypt(nonce, plaintext, aad)

    def decrypt(self, owner: str, blob: bytes, aad: bytes = b"") -> bytes:
        key = self._key(self.sealed_under(owner, blob), create=False)
        try:
            return key.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
        except InvalidTag as exc:
            raise CiphertextError("ciphertext does not belong to this owner and place") from exc

    def destroy_key(self, owner: str) -> None:
        self._keys.pop(owner, None)
        self._destroyed.add(owner)

    def is_destroyed(self, owner: str) -> bool:
        return owner in self._destroyed

    def sealed_under(self, owner: str, blob: bytes) -> str:
        successor = self._successors.get(bytes(blob))
        return successor if successor is not None and successor.startswith(owner + "/") else owner

    def reseal(self, owner: str, blob: bytes, aad: bytes, successor: str) -> bytes:
        if not successor.startswith(owner + "/kept"):
            raise CiphertextError("a successor key is named <owner>/kept<n>")
        if self.sealed_under(owner, blob) == successor:
            return blob
        plain = self.decrypt(owner, blob, aad)
        nonce = os.urandom(NONCE_BYTES)
        sealed = nonce + self._key(successor, create=True).encrypt(nonce, plain, aad)
        self._successors[sealed] = successor
        return sealed


class InMemoryBatchFieldCipher(InMemoryFieldCipher):
    """:class:`InMemoryFieldCipher` with the batch ports ingestion uses when a cipher has them
    (``KeyPreparer``, ``BatchCipher``), as the envelope cipher does."""

    def prepare(self, owners: Collection[str]) -> set[str]:
        destroyed = {o for o in owners if o in self._destroyed}
        for owner in set(owners) - destroyed:
            self._key(owner, create=True)
        return destroyed

    def encrypt_many(self, owner: str, items: Sequence[tuple[bytes, bytes]]) -> list[bytes]:
        return [self.encrypt(owner, plaintext, aad) for plaintext, aad in items]
