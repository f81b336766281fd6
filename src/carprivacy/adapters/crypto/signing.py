"""Audit checkpoint signatures with Ed25519 (SPEC U3): the ``CheckpointSigner`` port of the audit
room. The 32-byte seed lives outside the database (``audit-signing.key`` or
``CARPRIVACY_AUDIT_SIGNING_KEY``); the key id is the first 16 hex digits of the SHA-256 of the
raw public key. cryptography's errors stay here: a signature that does not check is ``False``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


class Ed25519CheckpointSigner:
    """Ed25519 signatures over checkpoint payloads."""

    def __init__(self, seed: bytes) -> None:
        if len(seed) != 32:
            raise ValueError("the audit signing key must be 32 bytes")
        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        self.public_key: Ed25519PublicKey = self._key.public_key()
        raw = self.public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
        self._key_id = hashlib.sha256(raw).hexdigest()[:16]

    @property
    def key_id(self) -> str:
        return self._key_id

    def sign(self, payload: bytes) -> str:
        return base64.b64encode(self._key.sign(payload)).decode("ascii")

    def check(self, payload: bytes, signature: str, key_id: str) -> bool:
        if key_id != self.key_id:
            return False
        try:
            self.public_key.verify(base64.b64decode(signature, validate=True), payload)
        except (InvalidSignature, binascii.Error, ValueError):
            return False
        return True
