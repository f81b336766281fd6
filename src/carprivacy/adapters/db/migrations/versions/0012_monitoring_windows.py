"""Monitoring's per-caller windows in the database, so that every process serving requests
counts a caller's accesses in one place (SPEC U3; docs/scaling.md). Matches
``monitoring_windows`` and ``monitoring_subjects`` in adapters/db/tables/access.py.

Revision ID: 0012_monitoring_windows
Revises: 0011_alert_acknowledgement
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_monitoring_windows"
down_revision = "0011_alert_acknowledgement"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monitoring_windows",
        sa.Column("caller_id", sa.String(64), primary_key=True),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hour_alerted", sa.Boolean, nullable=False),
        sa.Column("denies", sa.Text, nullable=False),
        sa.Column("in_burst", sa.Boolean, nullable=False),
        sa.Column("last_deny", sa.DateTime(timezone=True), nullable=True),
        sa.Column("off_hours_day", sa.String(10), nullable=False),
    )
    op.create_table(
        "monitoring_subjects",
        sa.Column("caller_id", sa.String(64), primary_key=True),
        sa.Column("hour", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("subject_ref", sa.String(64), primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("monitoring_subjects")
    op.drop_table("monitoring_windows")
