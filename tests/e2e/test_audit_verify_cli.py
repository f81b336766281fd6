"""``carprivacy audit verify`` with the witness (SPEC U3): exit 0 on an intact log, 1 naming the
first bad entry when rows were cut from the database; SQLite and PostgreSQL."""

from __future__ import annotations

import re
import stat
from pathlib import Path

from sqlalchemy import delete, func, select
from typer.testing import CliRunner

from carprivacy.adapters.db.engine import make_engine
from carprivacy.adapters.db.tables.access import audit_checkpoints, audit_log
from carprivacy.bootstrap import bootstrap
from carprivacy.config import Settings
from carprivacy.domain.audit import AuditRecord
from carprivacy.entrypoints.cli.main import app

runner = CliRunner()


def _record(i: int) -> AuditRecord:
    return AuditRecord(
        f"2026-11-25T12:00:0{i}.000000+00:00", "c", "o", "dealer", "p", "", "", "x", "deny", "r", ""
    )


def test_verify_finds_a_log_cut_after_its_last_checkpoint(db_url: str, tmp_path: Path) -> None:
    witness = tmp_path / "elsewhere" / "witness.jsonl"
    env = {
        "CARPRIVACY_DATABASE_URL": db_url,
        "CARPRIVACY_DATA_DIR": str(tmp_path / "var"),
        "CARPRIVACY_AUDIT_WITNESS_PATH": str(witness),
    }
    assert runner.invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    loaded = runner.invoke(app, ["demo", "load"], env=env)
    assert loaded.exit_code == 0, loaded.output
    container = bootstrap(
        Settings(database_url=db_url, data_dir=tmp_path / "var", audit_witness_path=witness)
    )
    try:
        for i in range(5):  # one commit each, as the gate's reads do
            container.audit.append([_record(i)])
    finally:
        container.close()
    ok = runner.invoke(app, ["audit", "verify"], env=env)
    assert ok.exit_code == 0, ok.output
    assert re.search(r"audit log: ok: \d+ entries", ok.output) and "witness heads" in ok.output
    assert stat.S_IMODE(witness.stat().st_mode) == 0o600
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            total = conn.execute(select(func.count()).select_from(audit_log)).scalar_one()
            assert total > 2
            conn.execute(delete(audit_log).where(audit_log.c.seq > total - 2))
            conn.execute(delete(audit_checkpoints))
    finally:
        engine.dispose()
    bad = runner.invoke(app, ["audit", "verify"], env=env)
    assert bad.exit_code == 1
    assert f"entry #{total - 1} " in bad.output and "truncated" in bad.output
