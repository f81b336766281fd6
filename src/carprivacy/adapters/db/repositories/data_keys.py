"""Wrapped data keys in the ``data_keys`` table, and retired master key ids in
``master_key_retirements`` (SQLite and PostgreSQL; online rotation:
docs/adr/master-key-rotation.md).

A new data key is inserted by one statement that also checks the retirement of its wrapping key,
so it either commits before the retirement or sees it. ``live_not_under`` on PostgreSQL takes a
SHARE lock on ``data_keys``: it waits for every insert in progress to commit, then counts. SQLite
runs one writer at a time, so the same holds without a lock. ``rewrap`` is called per page of keys
(one short write transaction each), so a rotation never holds SQLite's single writer lock for long;
it moves a key only if it is still under the id the rotation read (compare-and-set).

``rotation_lock`` serialises rotations across every process that uses this database: on PostgreSQL
a session-level ``pg_advisory_lock(ROTATION_LOCK_KEY)`` on a connection of its own, held for the
whole rotation; on SQLite (a file local to one host) an ``flock`` on
``<database file>.rotation.lock``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, bindparam, exists, func, literal, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from carprivacy.adapters.crypto.envelope import Rewrap, StoredDataKey
from carprivacy.adapters.db.id_sets import among
from carprivacy.adapters.db.tables.telemetry import data_keys, master_key_retirements
from carprivacy.adapters.keyfile import exclusive_lock

# The PostgreSQL advisory lock of master-key rotations: the ASCII of "carprivk" as a bigint. Fixed
# so that every process, on any host, that rotates keys in this database takes the same lock.
ROTATION_LOCK_KEY = int.from_bytes(b"carprivk", "big")


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
        wanted = set(owners)
        found: dict[str, StoredDataKey] = {}
        if not wanted:
            return found
        with self._engine.connect() as conn:
            query = select(data_keys).where(among(conn.dialect.name, data_keys.c.owner, wanted))
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

    def live_page(self, after: str | None, limit: int, not_under: str) -> list[StoredDataKey]:
        """Up to ``limit`` live keys not wrapped by ``not_under``, owners after ``after``, in
        owner order (keyset pagination on the primary key)."""
        c = data_keys.c
        query = select(data_keys).where(c.wrapped_key.is_not(None), self._not_under(not_under))
        if after is not None:
            query = query.where(c.owner > after)
        with self._engine.connect() as conn:
            rows = conn.execute(query.order_by(c.owner).limit(limit)).mappings()
            return [self._key(m) for m in rows]

    def rewrap(self, updates: list[Rewrap]) -> int:
        """One transaction, one executemany; a key moves only if it is live and still under
        ``u.was`` (another rotation or a destruction meanwhile leaves it alone). Returns the
        number of keys moved."""
        if not updates:
            return 0
        c = data_keys.c
        stmt = (
            update(data_keys)
            .where(c.owner == bindparam("o"), c.master_key_id == bindparam("was"))
            .where(c.wrapped_key.is_not(None))
            .values(wrapped_key=bindparam("w"), master_key_id=bindparam("m"))
        )
        params = [
            {"o": u.owner, "w": u.wrapped, "m": u.master_key_id, "was": u.was} for u in updates
        ]
        with self._engine.begin() as conn:
            return int(conn.execute(stmt, params).rowcount)

    def retire_master_key(self, master_key_id: str, at: datetime) -> None:
        stmt = self._insert(master_key_retirements).values(key_id=master_key_id, retired_at=at)
        with self._engine.begin() as conn:
            conn.execute(stmt.on_conflict_do_nothing(index_elements=["key_id"]))

    def retired_master_keys(self) -> set[str]:
        with self._engine.connect() as conn:
            return set(conn.execute(select(master_key_retirements.c.key_id)).scalars())

    @staticmethod
    def _not_under(master_key_id: str) -> Any:
        c = data_keys.c
        return or_(c.master_key_id.is_(None), c.master_key_id != master_key_id)

    def live_master_key_ids(self) -> set[str]:
        c = data_keys.c
        query = select(c.master_key_id).where(c.wrapped_key.is_not(None)).distinct()
        with self._engine.connect() as conn:
            return {i for i in conn.execute(query).scalars() if i is not None}

    def live_not_under(self, master_key_id: str) -> int:
        c = data_keys.c
        query = select(func.count()).where(
            c.wrapped_key.is_not(None), self._not_under(master_key_id)
        )
        with self._engine.begin() as conn:
            if self._engine.dialect.name == "postgresql":
                conn.execute(text("LOCK TABLE data_keys IN SHARE MODE"))
            return int(conn.execute(query).scalar_one())

    @contextmanager
    def rotation_lock(self, waiting: Callable[[], None] = lambda: None) -> Iterator[None]:
        """Hold the database's rotation lock for the block; ``waiting`` is called once if another
        rotation holds it. Released when the block ends or the process dies."""
        if self._engine.dialect.name != "postgresql":
            database = self._engine.url.database
            if not database or database == ":memory:" or database.startswith("file:"):
                yield  # in-memory (or a ``file:`` URI, not resolved here): no lock file
                return
            path = Path(database)
            with exclusive_lock(path.with_name(path.name + ".rotation.lock"), waiting):
                yield
            return
        conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ROTATION_LOCK_KEY})
            if not got.scalar_one():
                waiting()
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": ROTATION_LOCK_KEY})
            yield
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ROTATION_LOCK_KEY})
        except BaseException:
            conn.invalidate()  # the session ends, and with it the lock, whatever state it is in
            raise
        finally:
            conn.close()
