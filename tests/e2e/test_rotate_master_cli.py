"""``carprivacy keys rotate-master`` when it cannot go on (SPEC I3), on SQLite and
PostgreSQL: a data key under a master key nobody holds stops the rotation with one ``error:`` line
naming the key id (never the owner) and exit code 1, not a traceback."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, insert, select
from typer.testing import CliRunner

from carprivacy.adapters.crypto.envelope import wrap_key
from carprivacy.adapters.crypto.master_key import key_id, load_master_key, new_master_key
from carprivacy.adapters.db.tables.telemetry import data_keys
from carprivacy.config import load_settings
from carprivacy.entrypoints.cli.main import app


def test_a_data_key_under_an_unknown_master_key_stops_with_an_error_line(
    db_url: str, engine: Engine, tmp_path: Path
):
    settings = load_settings(data_dir=tmp_path, database_url=db_url)
    current = load_master_key(settings).current
    lost = new_master_key()
    owners = {"subject:Jansen-0612345678": lost, "vehicle:known": current}
    with engine.begin() as conn:
        conn.execute(
            insert(data_keys),
            [
                {"owner": owner, "master_key_id": key_id(master), "created_at": datetime.now(UTC),
                 "wrapped_key": wrap_key(master, owner, os.urandom(32))}
                for owner, master in owners.items()
            ],
        )  # fmt: skip
    env = {
        "CARPRIVACY_DATABASE_URL": db_url,
        "CARPRIVACY_DATA_DIR": str(tmp_path),
        "CARPRIVACY_MASTER_KEY": None,
        "CARPRIVACY_MASTER_KEY_FILE": None,
    }

    result = CliRunner().invoke(app, ["keys", "rotate-master"], env=env)

    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # no traceback
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()  # (the progress display leaves a blank line)
    assert len(lines) == 1 and lines[0].startswith("error: data_keys: wrapped by master key ")
    assert key_id(lost) in result.stderr and "Jansen" not in result.stderr
    with engine.connect() as conn:
        query = select(data_keys.c.master_key_id).where(data_keys.c.owner.like("subject:%"))
        assert conn.execute(query).scalar_one() == key_id(lost)  # left as it was
