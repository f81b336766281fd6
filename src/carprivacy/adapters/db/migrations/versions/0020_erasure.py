"""Erasures of data subjects: phase, judged-at moment, successor key, report (SPEC R3).
Matches adapters/db/tables/erasure.py.

Revision ID: 0020_erasure
Revises: 0018_cardata_shares
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020_erasure"
down_revision = "0018_cardata_shares"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "erasures",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("subject_id", sa.String(36), nullable=False),
        sa.Column("controller", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("successor", sa.String(120), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("report", sa.Text, nullable=False),
    )
    op.create_index("ix_erasures_subject_id", "erasures", ["subject_id"])
    open_only = sa.text("state != 'completed'")
    op.create_index(
        "uq_erasures_open",
        "erasures",
        ["subject_id"],
        unique=True,
        sqlite_where=open_only,
        postgresql_where=open_only,
    )


def downgrade() -> None:
    op.drop_index("uq_erasures_open", table_name="erasures")
    op.drop_index("ix_erasures_subject_id", table_name="erasures")
    op.drop_table("erasures")
