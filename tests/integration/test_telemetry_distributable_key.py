"""The telemetry table's keys let PostgreSQL distribute it by vehicle (Citus) and partition it by
time (docs/scaling.md): every primary key and unique constraint holds ``vehicle_id`` and ``ts``,
whether the table came from the migrations or from the models. SQLite keeps ``id`` as its rowid.
"""

from __future__ import annotations

from sqlalchemy import Engine, inspect

from carprivacy.adapters.db import migrate
from carprivacy.adapters.db.base import load_all_tables


def keys(engine: Engine) -> list[list[str]]:
    found = inspect(engine)
    pk = found.get_pk_constraint("telemetry")["constrained_columns"]
    unique = [u["column_names"] for u in found.get_unique_constraints("telemetry")]
    return [list(pk), *unique]


def check(engine: Engine) -> None:
    pk, *unique = keys(engine)
    assert unique == [["ts", "vehicle_id", "signal", "source"]]
    if engine.dialect.name == "postgresql":
        assert pk == ["id", "vehicle_id", "ts"]
        assert all({"vehicle_id", "ts"} <= set(k) for k in (pk, *unique))
    else:
        assert pk == ["id"]


def test_migrated_keys_hold_the_vehicle_and_the_time(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    check(empty_engine)
    migrate.downgrade(empty_engine, "0008_login_attempts")
    assert keys(empty_engine)[0] == ["id"]
    migrate.upgrade(empty_engine)
    check(empty_engine)


def test_tables_made_from_the_models_have_the_same_keys(empty_engine: Engine) -> None:
    load_all_tables().create_all(empty_engine)
    check(empty_engine)
