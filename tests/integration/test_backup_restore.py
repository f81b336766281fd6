"""Backup and restore of the database itself (SPEC R3): a restore brings back exactly what the
backup held, telemetry's week partitions included on PostgreSQL, and a restore that fails
leaves the database as it was (all of the backup or nothing)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from carprivacy.adapters.db import migrate
from carprivacy.adapters.db.backup import backup, restore
from carprivacy.adapters.db.engine import make_engine
from carprivacy.adapters.db.repositories.telemetry import SqlTelemetryRepository
from carprivacy.adapters.db.tables.telemetry import telemetry
from carprivacy.domain.errors import BackupError
from carprivacy.domain.telemetry import TelemetryRow


def _row(n: int) -> TelemetryRow:
    ts = datetime.now(UTC) - timedelta(days=n)
    return TelemetryRow(
        "veh-1", "cust-1", None, "subject:cust-1", f"Vehicle.Sig{n}", "traffic_info", None,
        str(n), None, ts, ts, "http", ("contract_performance",), ts + timedelta(weeks=4),
    )  # fmt: skip


def _count(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(telemetry)).scalar_one())
    finally:
        engine.dispose()


def test_a_restore_is_the_backup_and_a_failed_one_changes_nothing(
    db_url: str, tmp_path: Path
) -> None:
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    store = SqlTelemetryRepository(engine)
    store.store([_row(n) for n in range(0, 21, 3)], [])  # several weeks
    engine.dispose()
    saved = tmp_path / "db.backup"
    backup(db_url, saved)
    engine = make_engine(db_url)
    SqlTelemetryRepository(engine).store([_row(100)], [])
    engine.dispose()
    assert _count(db_url) == 8
    restore(db_url, saved)
    assert _count(db_url) == 7
    broken = tmp_path / "broken.backup"
    data = saved.read_bytes()
    broken.write_bytes(data[: len(data) // 2])  # cut in the middle
    with pytest.raises(BackupError):
        restore(db_url, broken)
    assert _count(db_url) == 7  # as it was
