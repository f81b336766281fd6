"""Engine creation: SQLite (embedded default, WAL) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError

# failures of the store itself (the server down or restarting, the connection lost, a lock
# timeout), not of a statement's content: nothing was committed and the caller may retry (SPEC I1)
STORE_UNAVAILABLE: tuple[type[Exception], ...] = (OperationalError, InterfaceError)


def normalise_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 here."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def create_private_file(path: Path) -> None:
    """Create the SQLite file with mode 0600 (SQLite gives -wal and -shm files the same mode)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine that never shows statement parameters (VINs, e-mail hashes, ciphertext) in its
    log lines or in the messages of its errors, which reach logs (SPEC I3: no personal data in
    logs)."""
    url = normalise_url(url)
    kwargs.setdefault("hide_parameters", True)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            create_private_file(Path(parsed.database))
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            # FULL: a commit survives power loss, not only a crash (acknowledged = durable, I1)
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            # a deleted or shortened value is overwritten with zeros where that costs no I/O
            # (R3: a destroyed data key leaves no copy in the page); erasure's purge uses ON
            cur.execute("PRAGMA secure_delete=FAST")
            cur.close()

        return engine
    engine = create_engine(url, pool_pre_ping=True, **kwargs)

    @event.listens_for(engine, "connect")
    def _utc_session(dbapi_conn: Any, _record: Any) -> None:
        # times come back as datetime.UTC, with nothing to convert per row
        autocommit = dbapi_conn.autocommit
        dbapi_conn.autocommit = True
        dbapi_conn.execute("SET TIME ZONE 'UTC'")
        dbapi_conn.autocommit = autocommit

    return engine


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"
