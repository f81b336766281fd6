"""Secrets kept in files outside the database: created on first run with mode 0600."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path


def write_private(path: Path, content: bytes) -> None:
    """Create ``path`` atomically with mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, content)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


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
    if path.exists():
        return base64.urlsafe_b64decode(read_private(path)), False
    value = secrets.token_bytes(nbytes)
    write_private(path, base64.urlsafe_b64encode(value) + b"\n")
    return value, True


def read_or_create_token(path: Path) -> tuple[str, bool]:
    """A printable bearer token kept in ``path`` (mode 0600): the file holds exactly the token."""
    if path.exists():
        return read_private(path), False
    token = secrets.token_urlsafe(32)
    write_private(path, token.encode("ascii") + b"\n")
    return token, True
