"""Secrets kept in files outside the database: created on first run with mode 0600."""

from __future__ import annotations

import base64
import fcntl
import os
import secrets
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def _private_temp(path: Path, content: bytes) -> Path:
    """A fully written, fsynced temporary file (mode 0600) beside ``path``, unique per call."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, content)
        os.fsync(fd)
    finally:
        os.close(fd)
    return Path(name)


def _fsync_dir(directory: Path) -> None:
    """Make a rename or link in ``directory`` durable (the entry, not only the file's bytes)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_private(path: Path, content: bytes) -> None:
    """Write ``path`` atomically with mode 0600, replacing what was there (key rotation)."""
    os.replace(_private_temp(path, content), path)
    _fsync_dir(path.parent)


def move_private(source: Path, target: Path) -> None:
    """Rename ``source`` onto ``target`` atomically and durably (same directory)."""
    os.replace(source, target)
    _fsync_dir(target.parent)


def create_private(path: Path, content: bytes) -> bool:
    """Create ``path`` with ``content`` (mode 0600) unless it exists; True if this call made it.

    ``os.link`` of a complete temporary file is an atomic create-if-absent: when two processes
    start at once, exactly one key wins and both go on with it (never two different keys).
    """
    tmp = _private_temp(path, content)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        tmp.unlink()
    _fsync_dir(path.parent)  # the new name and the temporary's removal reach the disk
    return True


def read_private(path: Path) -> str:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise PermissionError(
            f"{path} must not be readable by others (mode {oct(mode)}); chmod 600"
        )
    return path.read_text(encoding="ascii").strip()


def read_or_create_secret(path: Path, nbytes: int = 32) -> tuple[bytes, bool]:
    """Return the secret in ``path`` (URL-safe base64 text) and whether it was created now.

    The file is created atomically with mode 0600; a file readable by others is refused.
    """
    if not path.exists():
        value = secrets.token_bytes(nbytes)
        if create_private(path, base64.urlsafe_b64encode(value) + b"\n"):
            return value, True
    return base64.urlsafe_b64decode(read_private(path)), False


def read_or_create_token(path: Path) -> tuple[str, bool]:
    """A printable bearer token kept in ``path`` (mode 0600): the file holds exactly the token."""
    if not path.exists():
        token = secrets.token_urlsafe(32)
        if create_private(path, token.encode("ascii") + b"\n"):
            return token, True
    return read_private(path), False


@contextmanager
def exclusive_lock(path: Path, waiting: Callable[[], None] = lambda: None) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created with mode 0600, never deleted) for the
    block; ``waiting`` is called once if another process holds it. The kernel releases the lock
    when the holder exits, crashed or not, so a stale lock cannot outlive its process."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            waiting()
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the last descriptor releases the lock
