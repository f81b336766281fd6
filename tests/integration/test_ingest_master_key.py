"""The master key file: created on first run with mode 0600, location logged,
the key itself never."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import pytest
from pydantic import SecretStr

from carprivacy.adapters.crypto.master_key import load_master_key, next_key_file, write_key_file
from carprivacy.config import load_settings


def test_first_run_creates_a_private_key_file_and_says_where(tmp_path: Path, caplog):
    settings = load_settings(data_dir=tmp_path / "var")
    with caplog.at_level(logging.WARNING):
        ring = load_master_key(settings)
    path = tmp_path / "var" / "master.key"
    assert ring.file == path and path.stat().st_mode & 0o777 == 0o600
    assert str(path) in caplog.text
    assert base64.urlsafe_b64encode(ring.current).decode() not in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        again = load_master_key(settings)
    assert again.current == ring.current and caplog.text == ""


def test_a_key_file_readable_by_others_is_refused(tmp_path: Path):
    settings = load_settings(data_dir=tmp_path)
    load_master_key(settings)
    (tmp_path / "master.key").chmod(0o644)
    with pytest.raises(PermissionError):
        load_master_key(settings)


def test_the_environment_key_wins_and_a_pending_rotation_key_is_loaded(tmp_path: Path):
    raw = bytes(range(32))
    env = load_settings(data_dir=tmp_path, master_key=SecretStr(base64.b64encode(raw).decode()))
    ring = load_master_key(env)
    assert ring.current == raw and ring.file is None
    assert not (tmp_path / "master.key").exists()
    file_settings = load_settings(data_dir=tmp_path)
    current = load_master_key(file_settings).current
    write_key_file(next_key_file(tmp_path / "master.key"), raw)
    ring = load_master_key(file_settings)
    assert ring.current == current and ring.others == (raw,)
