"""Wrapped data keys in the ``data_keys`` table, and retired master key ids in
``master_key_retirements`` (SQLite and PostgreSQL; online rotation:
docs/adr/master-key-rotation.md).

A new data key is inserted by one statement that also checks the retirement of its wrapping key,
so it either commits before the retirement or sees it. ``live_under`` on PostgreSQL takes a SHARE
lock on ``data_keys``: it waits for every insert in progress to commit, then counts. SQLite runs one
writer at a time, so the same holds without a lock. ``rewrap`` is called per chunk of keys (one
short write transaction each), so a rotation never holds SQLite's single writer lock for long.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, bindparam, exists, func, literal, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from carprivacy.adapters.crypto.envelope import StoredDataKey
from carprivacy.adapters.db.tables.telemetry import data_keys, master_key_retirements


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class SqlDataKeyRepository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._insert: Any = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert

    @staticmethod
    def _key(m: Any) -> StoredDataKey:
        wrapped = m["wrapped_key"]
        return StoredDataKey(
            owner=m["owner"],
            wrapped=None if wrapped is None else bytes(wrapped),
            master_key_id=m["master_key_id"],
            created_at=_utc(m["created_at"]) or datetime.now(UTC),
            destroyed_at=_utc(m["destroyed_at"]),
        )

    def get_many(self, owners: Iterable[str]) -> dict[str, StoredDataKey]:
        wanted = list(set(owners))
        found: dict[str, StoredDataKey] = {}
        with self._engine.connect() as conn:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                query = select(data_keys).where(data_keys.c.owner.in_(chunk))
                for m in conn.execute(query).mappings():
                    found[m["owner"]] = self._key(m)
        return found

    def add_if_absent(self, key: StoredDataKey) -> None:
        """Insert unless the owner has a key or ``master_key_id`` is retired (one statement)."""
        c = data_keys.c
        retired = exists().where(master_key_retirements.c.key_id == key.master_key_id)
        row = select(
            literal(key.owner, c.owner.type),
            literal(key.wrapped, c.wrapped_key.type),
            literal(key.master_key_id, c.master_key_id.type),
            literal(key.created_at, c.created_at.type),
        ).where(~retired)
        stmt = (
            self._insert(data_keys)
            .from_select(["owner", "wrapped_key", "master_key_id", "created_at"], row)
            .on_conflict_do_nothing(index_elements=["owner"])
        )
        with self._engine.begin() as conn:
            conn.execute(stmt)

    def destroy(self, owner: str, at: datetime) -> None:
        """Tombstone the key (idempotent): the wrapped key is overwritten with NULL."""
        stmt = self._insert(data_keys).values(
            owner=owner, wrapped_key=None, master_key_id=None, created_at=at, destroyed_at=at
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["owner"],
            set_={"wrapped_key": None, "master_key_id": None, "destroyed_at": at},
        )
        with self._engine.begin() as conn:
            conn.execute(stmt)

    def all_keys(self) -> list[StoredDataKey]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(data_keys).order_by(data_keys.c.owner)).mappings()
            return [self._key(m) for m in rows]

    def rewrap(self, updates: list[tuple[str, bytes, str]]) -> None:
        """One transaction, one executemany: a rotation sends ``REWRAP_CHUNK`` keys at a time so
        that SQLite writers (ingestion) wait for one chunk, not for a whole pass."""
        if not updates:
            return
        c = data_keys.c
        stmt = (
            update(data_keys)
            .where(c.owner == bindparam("o"), c.wrapped_key.is_not(None))
            .values(wrapped_key=bindparam("w"), master_key_id=bindparam("m"))
        )
        with self._engine.begin() as conn:
            conn.execute(stmt, [{"o": o, "w": w, "m": m} for o, w, m in updates])

    def retire_master_key(self, master_key_id: str, at: datetime) -> None:
        stmt = self._insert(master_key_retirements).values(key_id=master_key_id, retired_at=at)
        with self._engine.begin() as conn:
            conn.execute(stmt.on_conflict_do_nothing(index_elements=["key_id"]))

    def retired_master_keys(self) -> set[str]:
        with self._engine.connect() as conn:
            return set(conn.execute(select(master_key_retirements.c.key_id)).scalars())

    def live_under(self, master_key_ids: Collection[str]) -> int:
        if not master_key_ids:
            return 0
        c = data_keys.c
        query = select(func.count()).where(
            c.master_key_id.in_(list(master_key_ids)), c.wrapped_key.is_not(None)
        )
        with self._engine.begin() as conn:
            if self._engine.dialect.name == "postgresql":
                conn.execute(text("LOCK TABLE data_keys IN SHARE MODE"))
            return int(conn.execute(query).scalar_one())
