"""``carprivacy db upgrade|current`` and ``carprivacy demo load`` on SQLite and
PostgreSQL, through the real command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select
from typer.testing import CliRunner

from carprivacy.adapters.db.base import load_all_tables
from carprivacy.adapters.db.engine import make_engine
from carprivacy.adapters.db.tables.master import customers, vehicle_usages, vehicles
from carprivacy.bootstrap import bootstrap
from carprivacy.config import Settings
from carprivacy.entrypoints.cli.main import app

runner = CliRunner()


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> dict[str, str]:
    return {"CARPRIVACY_DATABASE_URL": db_url, "CARPRIVACY_DATA_DIR": str(tmp_path / "var")}


def test_db_upgrade_migrates_and_says_where(env: dict[str, str], db_url: str) -> None:
    result = runner.invoke(app, ["db", "current"], env=env)
    assert result.exit_code == 0, result.output
    assert "revision: none" in result.output
    result = runner.invoke(app, ["db", "upgrade"], env=env)
    assert result.exit_code == 0, result.output
    assert "migrated from an empty database to" in result.output
    if db_url.startswith("sqlite"):
        assert "SQLite file" in result.output and "test.db" in result.output
    else:
        assert "postgresql" in result.output
    engine = make_engine(db_url)
    try:
        tables = set(load_all_tables().tables)
        assert tables <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    again = runner.invoke(app, ["db", "upgrade"], env=env)
    assert again.exit_code == 0 and "already at revision" in again.output


def test_db_upgrade_defaults_to_a_sqlite_file_in_the_data_dir(tmp_path: Path) -> None:
    env = {"CARPRIVACY_DATA_DIR": str(tmp_path / "data"), "CARPRIVACY_DATABASE_URL": ""}
    result = runner.invoke(app, ["db", "upgrade"], env=env)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "data" / "carprivacy.db").is_file()
    assert str(tmp_path / "data" / "carprivacy.db") in result.output


def test_demo_load_fills_an_empty_database_once(
    env: dict[str, str], db_url: str, tmp_path: Path
) -> None:
    assert runner.invoke(app, ["demo", "load"], env=env).exit_code == 1  # no tables yet
    assert runner.invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    narrow = {**env, "COLUMNS": "60"}  # a narrow terminal must not break a secret over lines
    first = runner.invoke(app, ["demo", "load", "--if-empty"], env=narrow)
    assert first.exit_code == 0, first.output
    assert "customers" in first.output and "owner change" in first.output
    secrets = dict(
        line.split()
        for line in first.output.split("passwords / client secrets", 1)[1].splitlines()[1:]
        if line.startswith("  demo")
    )
    assert {"demo-owner", "demo-dealer", "demo_insurer"} <= set(secrets)
    container = bootstrap(Settings(database_url=db_url, data_dir=tmp_path / "var"))
    try:  # the printed secrets are the ones that log in
        assert container.callers.login_password("demo-owner", secrets["demo-owner"]).access_token
        machine = container.callers.client_credentials(
            "demo_insurer", secrets["demo_insurer"], None
        )
        assert machine.access_token
    finally:
        container.close()
    second = runner.invoke(app, ["demo", "load", "--if-empty"], env=env)
    assert second.exit_code == 0 and "not loaded" in second.output
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            n_customers = conn.execute(select(func.count()).select_from(customers)).scalar()
            vins = conn.execute(select(vehicles.c.vin)).scalars().all()
            closed = conn.execute(
                select(func.count())
                .select_from(vehicle_usages)
                .where(vehicle_usages.c.ends_at.is_not(None))
            ).scalar()
    finally:
        engine.dispose()
    assert n_customers == 20
    assert len(vins) == len(set(vins)) >= 20
    assert closed == 1  # the owner change closed exactly one owner period
