"""Column plumbing for SQL repositories: instants stored as UTC on both databases, and sensitive
values sealed with the FieldCipher port under their subject's key, bound to table/column/row."""

from __future__ import annotations

from datetime import UTC, datetime

from carprivacy.domain.master import subject_owner
from carprivacy.services.ports.crypto import FieldCipher


def to_db_time(value: datetime) -> datetime:
    """UTC, so that SQLite (which keeps no offset) and PostgreSQL store the same instant."""
    return value.astimezone(UTC)


def from_db_time(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def opt_from_db_time(value: datetime | None) -> datetime | None:
    return None if value is None else from_db_time(value)


def opt_to_db_time(value: datetime | None) -> datetime | None:
    return None if value is None else to_db_time(value)


class FieldSealer:
    """Encrypts and decrypts one customer's sensitive columns through the FieldCipher port."""

    def __init__(self, cipher: FieldCipher) -> None:
        self._cipher = cipher

    @staticmethod
    def _aad(table: str, column: str, row_id: str) -> bytes:
        return f"{table}/{column}/{row_id}".encode()

    def seal(
        self, customer_id: str, table: str, column: str, row_id: str, value: str | None
    ) -> bytes | None:
        if value is None:
            return None
        return self._cipher.encrypt(
            subject_owner(customer_id), value.encode("utf-8"), self._aad(table, column, row_id)
        )

    def open(
        self, customer_id: str, table: str, column: str, row_id: str, blob: bytes | None
    ) -> str | None:
        if blob is None:
            return None
        plain = self._cipher.decrypt(
            subject_owner(customer_id), bytes(blob), self._aad(table, column, row_id)
        )
        return plain.decode("utf-8")
