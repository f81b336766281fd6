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
            # a cut or damaged backup is refused before anything of the database is replaced
            checked = src.execute("PRAGMA quick_check").fetchall()
            if checked != [("ok",)]:
                raise BackupError("the backup is damaged (SQLite quick_check); nothing restored")
            src.backup(dest)
            dest.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.DatabaseError as exc:
            raise BackupError(
                f"the backup could not be read ({type(exc).__name__}); nothing restored"
            ) from None
        finally:
            dest.close()
            src.close()
        return
    conn, schema = _libpq(url)
    _restore_pg(conn, schema or "public", source)


def _restore_pg(conn: str, schema: str, source: Path) -> None:
    """The archive's SQL (``pg_restore`` to standard output) run by ``psql`` in one transaction
    after the schema is dropped and made again: all of the backup, or nothing of it. (A
    ``pg_restore --clean`` cannot drop the constraints a week partition of telemetry inherits.)
    Streamed line by line: memory stays flat whatever the size of the backup."""
    quoted = '"' + schema.replace('"', '""') + '"'
    own_schema = {f"CREATE SCHEMA {schema};\n".encode(), f"CREATE SCHEMA {quoted};\n".encode()}
    reader = subprocess.Popen(
        [_tool("pg_restore"), "--no-owner", "--file=-", str(source)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    runner = subprocess.Popen(
        [_tool("psql"), "--no-psqlrc", "--quiet", "-v", "ON_ERROR_STOP=1", f"--dbname={conn}"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    with reader, runner:  # every pipe closed, both processes waited for
        read_err, run_err = _feed(reader, runner, quoted, own_schema)
    for name, process, err in (("pg_restore", reader, read_err), ("psql", runner, run_err)):
        if process.returncode != 0:
            last = (err.decode(errors="replace").strip().splitlines() or ["(no message)"])[-1]
            raise BackupError(f"{name} failed: {last[:300]}")


def _feed(
    reader: subprocess.Popen[bytes],
    runner: subprocess.Popen[bytes],
    quoted: str,
    own_schema: set[bytes],
) -> tuple[bytes, bytes]:
    """The archive's SQL into psql inside one transaction; (pg_restore's, psql's) stderr."""
    assert reader.stdout is not None and runner.stdin is not None
    assert reader.stderr is not None and runner.stderr is not None
    try:
        runner.stdin.write(b"BEGIN;\n")
        runner.stdin.write(f"DROP SCHEMA IF EXISTS {quoted} CASCADE;\n".encode())
        runner.stdin.write(f"CREATE SCHEMA {quoted};\n".encode())
        for line in reader.stdout:
            if line not in own_schema:
                runner.stdin.write(line)
        read_err = reader.stderr.read()
        # committed only when the whole archive was read: a cut or damaged backup ends the
        # session with its transaction open, and the server rolls it back
        if reader.wait(timeout=3600) == 0:
            runner.stdin.write(b"COMMIT;\n")
        runner.stdin.close()
    except BrokenPipeError:
        read_err = reader.stderr.read()  # psql stopped at an error: reported below
        reader.wait(timeout=3600)
    run_err = runner.stderr.read()
    runner.wait(timeout=3600)
    return read_err, run_err


def _run(args: list[str]) -> None:
    done = subprocess.run(args, capture_output=True, text=True, timeout=3600, check=False)
    if done.returncode != 0:
        # the tools' messages name objects, not values; the connection string is not repeated
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise BackupError(f"{Path(args[0]).name} failed: {last[:300]}")
