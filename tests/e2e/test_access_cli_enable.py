"""``carprivacy callers enable``: the CLI can undo ``disable`` as the
API's POST /v1/callers/{id}/enable can, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from carprivacy.bootstrap import bootstrap
from carprivacy.config import Settings
from carprivacy.domain.errors import AuthenticationError
from carprivacy.entrypoints.cli.main import app as cli

PASSPHRASE = "a dealer passphrase"


def test_disable_then_enable_a_caller_from_the_cli(
    engine: Engine, tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {
        "CARPRIVACY_DATA_DIR": str(tmp_path),
        "CARPRIVACY_DATABASE_URL": db_url,
        "CARPRIVACY_ARGON2_TIME_COST": "1",
        "CARPRIVACY_ARGON2_MEMORY_KIB": "8",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    runner = CliRunner()
    add = [
        "callers", "add", "--name", "Desk", "--kind", "person", "--role", "dealer",
        "--organisation", "dealers", "--id", "desk", "--password-stdin",
    ]  # fmt: skip
    assert runner.invoke(cli, add, input=PASSPHRASE + "\n").exit_code == 0
    settings = Settings(data_dir=tmp_path, argon2_time_cost=1, argon2_memory_kib=8)

    def login() -> bool:
        container = bootstrap(settings, engine=engine)
        try:
            container.callers.login_password("desk", PASSPHRASE)
        except AuthenticationError:
            return False
        finally:
            container.close()
        return True

    assert login()
    off = runner.invoke(cli, ["callers", "disable", "desk"])
    assert off.exit_code == 0 and "desk disabled" in off.output
    assert not login()
    on = runner.invoke(cli, ["callers", "enable", "desk"])
    assert on.exit_code == 0 and "desk enabled" in on.output
    assert login()
    listed = runner.invoke(cli, ["callers", "list"]).output
    assert "disabled" not in listed.split("desk", 1)[1].splitlines()[0]
    missing = runner.invoke(cli, ["callers", "enable", "nobody"])
    assert missing.exit_code == 1 and "not found" in missing.output
