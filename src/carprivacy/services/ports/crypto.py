"""The port for field encryption at rest (I3): per-subject data keys under a master key."""

from __future__ import annotations

from typing import Protocol


class FieldCipher(Protocol):
    """Encrypts values under the data key of their owner (``subject:<id>`` or ``vehicle:<id>``).

    ``aad`` binds a ciphertext to its place (table, column, row id): a value copied elsewhere
    does not decrypt. ``decrypt`` raises ``KeyDestroyedError`` once the owner's key is shredded.
    """

    def encrypt(self, owner: str, plaintext: bytes, aad: bytes = b"") -> bytes: ...

    def decrypt(self, owner: str, blob: bytes, aad: bytes = b"") -> bytes: ...

    def destroy_key(self, owner: str) -> None: ...


class KeyResealer(Protocol):
    """What erasure needs of the cipher (R3): move a kept value to a successor key before the
    owner's key is shredded, and shred."""

    def reseal(self, owner: str, blob: bytes, aad: bytes, successor: str) -> bytes: ...

    def sealed_under(self, owner: str, blob: bytes) -> str: ...

    def destroy_key(self, owner: str) -> None: ...

    def is_destroyed(self, owner: str) -> bool: ...
