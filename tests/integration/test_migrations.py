"""Migrations match the models: ``upgrade head`` on an empty database yields
exactly the tables of ``load_all_tables()``, on SQLite and on PostgreSQL; ``downgrade base``
removes them again. Covers every revision in the chain, whoever wrote it."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from carprivacy.adapters.db import migrate
from carprivacy.adapters.db.base import load_all_tables
from carprivacy.adapters.db.partitions import include_object


def _diff(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": include_object}
        )
        return list(compare_metadata(ctx, load_all_tables()))


def test_upgrade_head_matches_the_models(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    assert _diff(empty_engine) == []
    head = ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_current_head()
    assert migrate.current_revision(empty_engine) == head


def test_the_comparison_notices_a_missing_table(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine, "0001_master")
    with empty_engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE payment_transactions")
    assert any("payment_transactions" in repr(d) for d in _diff(empty_engine))


def test_downgrade_to_base_removes_every_table(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    migrate.downgrade(empty_engine, "base")
    left = set(inspect(empty_engine).get_table_names()) - {"alembic_version"}
    assert left == set()
    assert migrate.current_revision(empty_engine) is None


def test_upgrade_is_idempotent(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    migrate.upgrade(empty_engine)
    assert _diff(empty_engine) == []
