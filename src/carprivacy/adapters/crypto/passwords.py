"""Password hashes with argon2id (SPEC U1): the ``PasswordHasher`` port of the identity room.

argon2's own errors stay here: a wrong password or an unreadable hash is ``False``, a failure to
hash is ``PasswordHashingError``.
"""

from __future__ import annotations

import argon2
from argon2.exceptions import HashingError, InvalidHashError, VerificationError

from carprivacy.domain.errors import PasswordHashingError


class Argon2PasswordHasher:
    """argon2id with the given cost; each hash records its parameters and salt."""

    def __init__(
        self, *, time_cost: int = 3, memory_kib: int = 65536, parallelism: int = 1
    ) -> None:
        self._hasher = argon2.PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism
        )

    def hash(self, password: str) -> str:
        try:
            return self._hasher.hash(password)
        except HashingError as exc:
            raise PasswordHashingError("the password could not be hashed") from exc

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
