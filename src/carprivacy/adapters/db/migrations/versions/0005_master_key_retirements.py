"""Master key retirements for online rotation (SPEC I3).
Matches ``master_key_retirements`` in adapters/db/tables/telemetry.py.

Revision ID: 0005_master_key_retirements
Revises: 0004_subject_state
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_master_key_retirements"
down_revision = "0004_subject_state"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "master_key_retirements",
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_master_key_retirements")),
    )


def downgrade() -> None:
    op.drop_table("master_key_retirements")
