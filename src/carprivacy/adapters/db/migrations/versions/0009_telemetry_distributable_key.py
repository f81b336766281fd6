"""A telemetry primary key that a distributed or partitioned PostgreSQL accepts (docs/scaling.md).
Matches ``telemetry`` in adapters/db/tables/telemetry.py (its PostgreSQL ``after_create`` key).

Citus distributes a table by a column only when every primary key and unique constraint holds
that column, and PostgreSQL partitions a table by range of a column on the same condition. The
natural key (ts, vehicle_id, signal, source) already holds both; the primary key was ``id`` alone.
It becomes ``(id, vehicle_id, ts)``: still unique by ``id`` (a sequence), still growing at its
right edge on insert (``id`` leads), and it now holds the distribution column (vehicle_id) and the
partition column (ts). SQLite keeps ``id`` as its rowid: it is one machine's store and is neither
distributed nor partitioned, so the revision changes nothing there.

Revision ID: 0009_telemetry_distributable_key
Revises: 0008_login_attempts
"""

from __future__ import annotations

from alembic import op

revision = "0009_telemetry_distributable_key"
down_revision = "0008_login_attempts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "ALTER TABLE telemetry DROP CONSTRAINT pk_telemetry, "
        "ADD CONSTRAINT pk_telemetry PRIMARY KEY (id, vehicle_id, ts)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "ALTER TABLE telemetry DROP CONSTRAINT pk_telemetry, "
        "ADD CONSTRAINT pk_telemetry PRIMARY KEY (id)"
    )
