"""Telemetry time partitions on PostgreSQL (SPEC L1, L2; docs/retention.md, docs/scaling.md).

``telemetry`` is partitioned by range of ``ts`` (migration 0022_telemetry_partitions, and the
table's PostgreSQL DDL in adapters/db/tables/telemetry.py): one partition per ISO week
(Monday 00:00 UTC to the next), named ``telemetry_w<ISO year>_<ISO week>``, plus
``telemetry_default`` for a time no week partition covers (values far in the past or future).
A week whose values have all expired, none under a legal hold, is dropped as a whole by the
retention run instead of deleted row by row (``SqlRetentionStore.expired_partitions``).

Weeks are created ahead: the current week and the next ``AHEAD_WEEKS``, by ``carprivacy db
upgrade`` and by every retention run (the server's schedule rolls them forward). A week whose
range already holds rows in the default partition is left there (PostgreSQL refuses a partition
over rows of the default one); those rows are deleted row by row when they expire.

SQLite is one machine's store: not partitioned, nothing here applies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, text

PARENT = "telemetry"
DEFAULT = "telemetry_default"
WEEK = timedelta(days=7)
AHEAD_WEEKS = 8
_NAME = re.compile(r"^telemetry_w(\d{4})_(\d{2})$")


@dataclass(frozen=True)
class TimePartition:
    name: str
    starts: datetime  # inclusive
    ends: datetime  # exclusive


def week_of(moment: datetime) -> TimePartition:
    """The week partition that holds ``moment``."""
    at = moment.astimezone(UTC)
    monday = datetime(at.year, at.month, at.day, tzinfo=UTC) - timedelta(days=at.weekday())
    year, week, _ = monday.isocalendar()
    return TimePartition(f"telemetry_w{year:04d}_{week:02d}", monday, monday + WEEK)


def parse(name: str) -> TimePartition | None:
    """The week of a partition's name, None for any other table's name."""
    found = _NAME.match(name)
    if found is None:
        return None
    monday = datetime.fromisocalendar(int(found[1]), int(found[2]), 1).replace(tzinfo=UTC)
    return TimePartition(name, monday, monday + WEEK)


def is_partition(name: str) -> bool:
    """Whether a table name is one of telemetry's partitions (not a table of the models)."""
    return name == DEFAULT or parse(name) is not None


def partitioned(conn: Connection) -> bool:
    """Whether this database's ``telemetry`` (in the current schema) is partitioned."""
    if conn.dialect.name != "postgresql":
        return False
    kind = conn.execute(
        text(
            "SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname = :name AND n.nspname = current_schema()"
        ),
        {"name": PARENT},
    ).scalar()
    return kind == "p"


def weeks(conn: Connection) -> list[TimePartition]:
    """The week partitions of ``telemetry``, oldest first (the default one is not a week)."""
    names = conn.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent "
            "JOIN pg_namespace n ON n.oid = p.relnamespace "
            "WHERE p.relname = :parent AND n.nspname = current_schema()"
        ),
        {"parent": PARENT},
    ).scalars()
    found = [w for w in map(parse, names) if w is not None]
    return sorted(found, key=lambda w: w.starts)


def ensure_weeks(conn: Connection, now: datetime, ahead: int = AHEAD_WEEKS) -> list[str]:
    """Create the week partitions from ``now``'s week to ``ahead`` weeks later that do not
    exist; the names created. A week with rows in the default partition is skipped."""
    if not partitioned(conn):
        return []
    have = {w.name for w in weeks(conn)}
    created: list[str] = []
    first = week_of(now)
    for k in range(ahead + 1):
        week = TimePartition(
            week_of(first.starts + k * WEEK).name, first.starts + k * WEEK, first.ends + k * WEEK
        )
        if week.name in have:
            continue
        stray = conn.execute(
            text(f"SELECT 1 FROM {DEFAULT} WHERE ts >= :lo AND ts < :hi LIMIT 1"),
            {"lo": week.starts, "hi": week.ends},
        ).first()
        if stray is not None:
            continue
        conn.execute(text(create_week_sql(week)))
        created.append(week.name)
    return created


def create_week_sql(week: TimePartition) -> str:
    return (
        f"CREATE TABLE {week.name} PARTITION OF {PARENT} "
        f"FOR VALUES FROM ('{week.starts.isoformat()}') TO ('{week.ends.isoformat()}')"
    )


def roll_forward(engine: Engine, now: datetime) -> list[str]:
    """``ensure_weeks`` in a transaction of its own (nothing on SQLite)."""
    if engine.dialect.name != "postgresql":
        return []
    with engine.begin() as conn:
        return ensure_weeks(conn, now)


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Alembic's filter: telemetry's partitions are not tables of the models."""
    return not (type_ == "table" and reflected and name is not None and is_partition(name))
