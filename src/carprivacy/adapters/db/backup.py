"""Backups of the database (SPEC R3, G "IT security and backups"): SQLite through its online
backup API (a consistent copy while other processes write), PostgreSQL through ``pg_dump`` and
``pg_restore`` (custom format). A backup file gets mode 0600: it holds ciphertext and wrapped
data keys. What a backup cannot forget on its own, the shred list replays after a restore
(services/erasure/service.py, docs/backups.md).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlencode, urlsplit, urlunsplit

from sqlalchemy.engine import make_url

from carprivacy.domain.errors import BackupError


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database has no backup")
    return Path(database)


def _libpq(url: str) -> tuple[str, str | None]:
    """The URL for libpq tools (no SQLAlchemy driver name) and the schema named by a
    ``search_path`` option, if any (then only that schema is dumped and restored)."""
    plain = url.replace("postgresql+psycopg://", "postgresql://", 1)
    parts = urlsplit(plain)
    query = parse_qs(parts.query)
    schema = None
    for option in query.get("options", []):
        for word in unquote(option).split():
            if word.startswith("-csearch_path="):
                schema = word.split("=", 1)[1]
    return urlunsplit(parts._replace(query=urlencode(query, doseq=True))), schema


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} not found: install the PostgreSQL client tools")
    return found


def _private(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    os.chmod(path, 0o600)


def backup(url: str, target: Path) -> None:
    """Write a consistent copy of the database at ``url`` to ``target`` (mode 0600)."""
    partial = target.with_name(target.name + ".partial")
    _private(partial)
    if make_url(url).get_backend_name() == "sqlite":
        source = sqlite3.connect(_sqlite_path(url))
        dest = sqlite3.connect(partial)
        try:
            source.backup(dest)
            dest.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            dest.close()
            source.close()
    else:
        conn, schema = _libpq(url)
        args = [_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={partial}"]
        if schema:
            args.append(f"--schema={schema}")
        _run([*args, f"--dbname={conn}"])
    os.replace(partial, target)


def restore(url: str, source: Path) -> None:
    """Replace the database at ``url`` with the backup ``source``. Stop the servers first."""
    if not source.is_file():
        raise BackupError("no backup file at the path given")
    if make_url(url).get_backend_name() == "sqlite":
        with source.open("rb") as f:
            if f.read(16) != b"SQLite format 3\x00":
                raise BackupError("the file is not a SQLite backup")
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        dest = sqlite3.connect(_sqlite_path(url))
        try:
            src.backup(dest)
            dest.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            dest.close()
            src.close()
        return
    conn, _schema = _libpq(url)
    _run(
        [
            _tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            f"--dbname={conn}",
            str(source),
        ]
    )


def _run(args: list[str]) -> None:
    done = subprocess.run(args, capture_output=True, text=True, timeout=3600, check=False)
    if done.returncode != 0:
        # the tools' messages name objects, not values; the connection string is not repeated
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise BackupError(f"{Path(args[0]).name} failed: {last[:300]}")
