"""Retention runs and legal holds (SPEC L1, L2), and the indexes the retention job selects on.
Matches adapters/db/tables/retention.py and the retention indexes of telemetry.py and master.py.

``ix_telemetry_identified`` is partial (rows still linked to a subject), on both engines: the
step that ends the identified form reads the oldest such rows of a category, and a row leaves the
index when it is anonymised, so every batch starts where the work is.

Revision ID: 0014_retention
Revises: 0012_monitoring_windows
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_retention"
down_revision = "0012_monitoring_windows"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "legal_holds",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("subject_id", sa.String(36), nullable=True),
        sa.Column("vehicle_id", sa.String(36), nullable=True),
        sa.Column("category", sa.String(64), nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_by", sa.String(120), nullable=True),
        sa.Column("release_reason", sa.Text, nullable=True),
    )
    op.create_index("ix_legal_holds_released_at", "legal_holds", ["released_at"])
    op.create_table(
        "retention_runs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("policy_version", sa.String(64), nullable=False),
        sa.Column("counts", sa.Text, nullable=False),
    )
    op.create_index("ix_retention_runs_started_at", "retention_runs", ["started_at"])
    where = sa.text("subject_id IS NOT NULL")
    op.create_index(
        "ix_telemetry_identified",
        "telemetry",
        ["category", "ts"],
        sqlite_where=where,
        postgresql_where=where,
    )
    op.create_index("ix_contracts_ends_at", "contracts", ["ends_at"])
    op.create_index("ix_payment_transactions_booked_at", "payment_transactions", ["booked_at"])


def downgrade() -> None:
    op.drop_index("ix_payment_transactions_booked_at", table_name="payment_transactions")
    op.drop_index("ix_contracts_ends_at", table_name="contracts")
    op.drop_index("ix_telemetry_identified", table_name="telemetry")
    op.drop_index("ix_retention_runs_started_at", table_name="retention_runs")
    op.drop_table("retention_runs")
    op.drop_index("ix_legal_holds_released_at", table_name="legal_holds")
    op.drop_table("legal_holds")
