"""Secret files: created 0600, read back unchanged, refused when readable by others."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from carprivacy.adapters.keyfile import read_or_create_secret, read_or_create_token


def test_token_file_holds_exactly_the_token(tmp_path: Path) -> None:
    path = tmp_path / "var" / "admin.token"
    token, created = read_or_create_token(path)
    assert created
    assert path.read_text().strip() == token  # what a user pastes is what the server accepts
    assert path.stat().st_mode & 0o777 == 0o600
    again, created_again = read_or_create_token(path)
    assert (again, created_again) == (token, False)


def test_secret_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "k"
    secret, created = read_or_create_secret(path, 32)
    assert created and len(secret) == 32
    assert read_or_create_secret(path, 32) == (secret, False)


def test_a_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "admin.token"
    read_or_create_token(path)
    os.chmod(path, 0o644)
    with pytest.raises(PermissionError, match="chmod 600"):
        read_or_create_token(path)


def test_processes_starting_together_all_get_the_same_key(tmp_path: Path) -> None:
    """Two first-run processes must never create two different master keys."""
    import multiprocessing

    path = tmp_path / "master.key"
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(4) as pool:
        results = pool.map(_create, [str(path)] * 16)
    assert len({secret for secret, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert read_or_create_secret(path) == (results[0][0], False)
    assert [p.name for p in tmp_path.iterdir()] == ["master.key"]  # no temporary files left


def _create(path: str) -> tuple[bytes, bool]:
    return read_or_create_secret(Path(path), 32)


def test_short_configured_secrets_are_refused() -> None:
    """A short admin token or token-signing secret could be guessed offline."""
    from pydantic import SecretStr, ValidationError

    from carprivacy.config import Settings

    for field in ("admin_token", "token_secret"):
        with pytest.raises(ValidationError, match="at least 32 characters"):
            Settings(**{field: SecretStr("short")})
        assert getattr(Settings(**{field: SecretStr("s" * 32)}), field) is not None
