"""Alerts acknowledged with a note: who, when, what they found, appended (SPEC U3). Matches
``alert_acknowledgements`` in adapters/db/tables/access.py.

Revision ID: 0011_alert_acknowledgement
Revises: 0010_audit_list_entries
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_alert_acknowledgement"
down_revision = "0010_audit_list_entries"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_acknowledgements",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "alert_id",
            sa.String(200),
            sa.ForeignKey("alerts.id", name="fk_alert_acknowledgements_alert_id_alerts"),
            nullable=False,
        ),
        sa.Column("acknowledged_by", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
    )
    op.create_index("ix_alert_acknowledgements_alert_id", "alert_acknowledgements", ["alert_id"])


def downgrade() -> None:
    op.drop_index("ix_alert_acknowledgements_alert_id", table_name="alert_acknowledgements")
    op.drop_table("alert_acknowledgements")
