"""Telemetry partitioned by week of ``ts`` on PostgreSQL (SPEC L1, L2; docs/retention.md).
Matches ``telemetry`` in adapters/db/tables/telemetry.py and adapters/db/partitions.py.

The table is re-created as ``PARTITION BY RANGE (ts)`` with the same columns, keys, checks,
indexes and id sequence; a week partition is created for every week from the oldest stored value
(at most two years back) to 8 weeks after the newest one or now, plus the default partition;
the rows are copied over in one statement and the old table dropped, all in the migration's
transaction (a failure leaves the table as it was). SQLite is not partitioned: nothing changes
there.

Revision ID: 0022_telemetry_partitions
Revises: 0016_cardata
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0022_telemetry_partitions"
down_revision = "0016_cardata"
branch_labels = None
depends_on = None

COLUMNS = (
    "id, vehicle_id, subject_id, fleet_id, key_owner, signal, category, unit, value, "
    "value_ciphertext, ts, received_at, source, purposes, expires_at"
)
INDEXES = (
    "CREATE INDEX ix_telemetry_vehicle_ts ON telemetry (vehicle_id, ts, id)",
    "CREATE INDEX ix_telemetry_subject_ts ON telemetry (subject_id, ts, id)",
    "CREATE INDEX ix_telemetry_expires_at ON telemetry (expires_at)",
    "CREATE INDEX ix_telemetry_identified ON telemetry (category, ts) WHERE subject_id IS NOT NULL",
)
WEEK = timedelta(days=7)


def _monday(moment: datetime) -> datetime:
    at = moment.astimezone(UTC)
    return datetime(at.year, at.month, at.day, tzinfo=UTC) - timedelta(days=at.weekday())


def _free_names(table: str) -> None:
    """Drop the old table's keys and indexes, whose names the new table takes."""
    op.execute(
        f"ALTER TABLE {table} DROP CONSTRAINT pk_telemetry, "
        "DROP CONSTRAINT uq_telemetry_natural_key, "
        "DROP CONSTRAINT ck_telemetry_source, DROP CONSTRAINT ck_telemetry_value_xor_ciphertext"
    )
    for index in (
        "ix_telemetry_vehicle_ts",
        "ix_telemetry_subject_ts",
        "ix_telemetry_expires_at",
        "ix_telemetry_identified",
    ):
        op.execute(f"DROP INDEX {index}")


def _create(partitioned: bool) -> None:
    op.execute(
        "CREATE TABLE telemetry ("
        "id BIGINT NOT NULL DEFAULT nextval('telemetry_id_seq'::regclass), "
        "vehicle_id VARCHAR(36) NOT NULL, subject_id VARCHAR(36), fleet_id VARCHAR(36), "
        "key_owner VARCHAR(80) NOT NULL, signal VARCHAR(200) NOT NULL, "
        "category VARCHAR(64) NOT NULL, unit VARCHAR(32), value TEXT, value_ciphertext BYTEA, "
        "ts TIMESTAMP WITH TIME ZONE NOT NULL, received_at TIMESTAMP WITH TIME ZONE NOT NULL, "
        "source VARCHAR(16) NOT NULL, purposes TEXT NOT NULL, "
        "expires_at TIMESTAMP WITH TIME ZONE, "
        "CONSTRAINT pk_telemetry PRIMARY KEY (id, vehicle_id, ts), "
        "CONSTRAINT uq_telemetry_natural_key UNIQUE (ts, vehicle_id, signal, source), "
        "CONSTRAINT ck_telemetry_value_xor_ciphertext "
        "CHECK ((value IS NULL) <> (value_ciphertext IS NULL)), "
        "CONSTRAINT ck_telemetry_source CHECK (source IN ('http', 'mqtt', 'workshop'))"
        ")" + (" PARTITION BY RANGE (ts)" if partitioned else "")
    )
    op.execute("ALTER SEQUENCE telemetry_id_seq OWNED BY telemetry.id")
    for index in INDEXES:
        op.execute(index)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    oldest, newest = bind.execute(sa.text("SELECT min(ts), max(ts) FROM telemetry")).one()
    op.execute("ALTER TABLE telemetry RENAME TO telemetry_unpartitioned")
    _free_names("telemetry_unpartitioned")
    _create(partitioned=True)
    op.execute("CREATE TABLE telemetry_default PARTITION OF telemetry DEFAULT")
    now = datetime.now(UTC)
    # weeks from the oldest value (at most two years back: older ones go to the default)
    week = _monday(max(min(oldest or now, now), now - 104 * WEEK))
    last = _monday(max(newest or now, now)) + 8 * WEEK
    while week <= last:
        year, number, _ = week.isocalendar()
        op.execute(
            f"CREATE TABLE telemetry_w{year:04d}_{number:02d} PARTITION OF telemetry "
            f"FOR VALUES FROM ('{week.isoformat()}') TO ('{(week + WEEK).isoformat()}')"
        )
        week += WEEK
    op.execute(f"INSERT INTO telemetry ({COLUMNS}) SELECT {COLUMNS} FROM telemetry_unpartitioned")
    op.execute("DROP TABLE telemetry_unpartitioned")
    op.execute("ANALYZE telemetry")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE telemetry RENAME TO telemetry_partitioned")
    _free_names("telemetry_partitioned")
    _create(partitioned=False)
    op.execute(f"INSERT INTO telemetry ({COLUMNS}) SELECT {COLUMNS} FROM telemetry_partitioned")
    op.execute("DROP TABLE telemetry_partitioned CASCADE")
