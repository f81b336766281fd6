"""``carprivacy retention`` as an operator runs it (SPEC L1, L2), on SQLite and PostgreSQL.

``retention run`` is started as a subprocess over tens of thousands of expired rows and killed
with SIGKILL part-way, several times; after each kill what the database lost is exactly what the
killed run's record says it committed (no half-written batch), and a last run finishes: the
unexpired rows, every one of them, are still there, the expired ones are gone, the killed runs
are closed as interrupted. ``--dry-run`` reports and changes nothing; holds are placed, listed
and released from the command line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from carprivacy.adapters.db import migrate
from carprivacy.adapters.db.engine import make_engine
from carprivacy.adapters.db.repositories.telemetry import SqlTelemetryRepository
from carprivacy.adapters.db.tables.retention import retention_runs
from carprivacy.adapters.db.tables.telemetry import telemetry
from carprivacy.domain.telemetry import TelemetryRow
from carprivacy.entrypoints.cli.main import app

runner = CliRunner()
EXPIRED = 40_000
KEPT = 2_000


def _rows(now: datetime) -> list[TelemetryRow]:
    rows = []
    for i in range(EXPIRED + KEPT):
        ts = now - timedelta(days=40 if i < EXPIRED else 2, seconds=i)
        rows.append(
            TelemetryRow(
                f"veh-{i % 7}",
                f"cust-{i % 5}",
                None,
                f"subject:cust-{i % 5}",
                "Vehicle.Speed",
                "traffic_info",
                "km/h",
                "42",
                None,
                ts,
                ts,
                "http",
                ("contract_performance",),
                ts + timedelta(weeks=4),
            )
        )
    return rows


def _env(db_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "CARPRIVACY_DATABASE_URL": db_url,
        "CARPRIVACY_DATA_DIR": str(tmp_path / "var"),
    }


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(telemetry)).scalar_one())


def _runs(engine: Engine) -> list[tuple[str, int]]:
    with engine.connect() as conn:
        found = conn.execute(select(retention_runs.c.status, retention_runs.c.counts)).all()
    return [(s, sum(int(c["rows"]) for c in json.loads(counts))) for s, counts in found]


@pytest.fixture
def loaded(db_url: str, tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    store = SqlTelemetryRepository(engine)
    rows = _rows(datetime.now(UTC))
    for start in range(0, len(rows), 10_000):
        store.store(rows[start : start + 10_000], [])
    yield engine
    engine.dispose()


def test_kill_it_and_run_it_again(loaded: Engine, db_url: str, tmp_path: Path) -> None:
    env = {**os.environ, **_env(db_url, tmp_path)}
    command = [sys.executable, "-m", "carprivacy.entrypoints.cli.main", "retention", "run"]
    kills = 0
    for _attempt in range(3):
        before = _count(loaded)
        committed_before = sum(n for _s, n in _runs(loaded))
        with (tmp_path / "run.log").open("ab") as log:
            process = subprocess.Popen(
                [*command, "--batch-size", "150"], env=env, stdout=log, stderr=log
            )
        deadline = time.monotonic() + 60
        # kill it once it has committed a few batches, wherever it is
        while time.monotonic() < deadline and process.poll() is None:
            if before - _count(loaded) >= 600 * (kills + 1):
                break
            time.sleep(0.01)
        if process.poll() is not None:
            break  # it finished before the kill: nothing left to interrupt
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        kills += 1
        # nothing half-written: the rows gone are exactly what the run records committed
        assert before - _count(loaded) == sum(n for _s, n in _runs(loaded)) - committed_before
    assert kills >= 2, "the runs finished too fast to be killed: raise EXPIRED"
    assert _count(loaded) > KEPT  # the killed runs left work to do
    done = runner.invoke(app, ["retention", "run"], env=_env(db_url, tmp_path))
    assert done.exit_code == 0, done.output
    assert "closed interrupted run" in done.output
    assert _count(loaded) == KEPT
    with loaded.connect() as conn:
        oldest = conn.execute(select(func.min(telemetry.c.ts))).scalar_one()
    assert oldest.replace(tzinfo=UTC) > datetime.now(UTC) - timedelta(days=3)
    statuses = sorted(s for s, _n in _runs(loaded))
    assert statuses == ["completed"] + ["interrupted"] * kills
    assert sum(n for _s, n in _runs(loaded)) == EXPIRED
    again = runner.invoke(app, ["retention", "run"], env=_env(db_url, tmp_path))
    assert again.exit_code == 0 and "removed 0 row(s)" in again.output
    listed = runner.invoke(app, ["retention", "runs"], env=_env(db_url, tmp_path))
    assert listed.output.count("interrupted") == kills


def test_dry_run_and_holds_from_the_command_line(
    loaded: Engine, db_url: str, tmp_path: Path
) -> None:
    env = _env(db_url, tmp_path)
    placed = runner.invoke(
        app,
        [
            "retention",
            "hold",
            "add",
            "--subject",
            "cust-0",
            "--reason",
            "legal claims",
            "--by",
            "dpo",
        ],
        env=env,
    )
    assert placed.exit_code == 0, placed.output
    hold_id = placed.output.split()[-1]
    listed = runner.invoke(app, ["retention", "hold", "list"], env=env)
    assert hold_id in listed.output and "subject cust-0" in listed.output

    dry = runner.invoke(app, ["retention", "run", "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert f"would remove {EXPIRED * 4 // 5} row(s)" in dry.output  # cust-0's fifth is held
    assert "traffic_info_four_weeks" in dry.output
    assert _count(loaded) == EXPIRED + KEPT and _runs(loaded) == []

    run = runner.invoke(app, ["retention", "run"], env=env)
    assert f"removed {EXPIRED * 4 // 5} row(s)" in run.output
    released = runner.invoke(
        app,
        ["retention", "hold", "release", hold_id, "--by", "dpo", "--reason", "settled"],
        env=env,
    )
    assert released.exit_code == 0, released.output
    run = runner.invoke(app, ["retention", "run"], env=env)
    assert f"removed {EXPIRED // 5} row(s)" in run.output
    assert _count(loaded) == KEPT

    bad = runner.invoke(app, ["retention", "hold", "add", "--reason", "x", "--by", "dpo"], env=env)
    assert bad.exit_code == 2 and "legal_hold.scope" in bad.output
    again = runner.invoke(
        app,
        ["retention", "hold", "release", hold_id, "--by", "dpo", "--reason", "again"],
        env=env,
    )
    assert again.exit_code == 2 and "released already" in again.output


def test_every_takes_a_duration() -> None:
    from carprivacy.entrypoints.cli.commands.retention import parse_every

    assert [parse_every(v) for v in ("90", "90s", "15m", "6h", "1d")] == [
        90,
        90,
        900,
        21600,
        86400,
    ]
    bad = runner.invoke(app, ["retention", "run", "--every", "soon"])
    assert bad.exit_code == 2 and "positive duration" in bad.output
