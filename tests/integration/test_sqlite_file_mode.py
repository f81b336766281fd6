"""The embedded SQLite database and its WAL are private to the service user (SPEC I3)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from carprivacy.adapters.db.engine import make_engine


def test_database_and_wal_files_are_mode_0600(tmp_path: Path) -> None:
    db = tmp_path / "var" / "carprivacy.db"
    engine = make_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))
        wal = db.with_name(db.name + "-wal")
        assert wal.exists()
        assert wal.stat().st_mode & 0o777 == 0o600
    assert db.stat().st_mode & 0o777 == 0o600
    engine.dispose()


def test_commits_are_synced_to_disk_before_they_are_acknowledged(tmp_path: Path) -> None:
    """WAL with synchronous=FULL: an acknowledged commit survives power loss."""
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
    engine.dispose()
