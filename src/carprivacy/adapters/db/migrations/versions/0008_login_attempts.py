"""Password login attempts per login name, in the database so that every API process counts in
one place (SPEC U1, U3: a guess spread over several processes is still paused). Matches
``login_attempts`` in adapters/db/tables/access.py.

Revision ID: 0008_login_attempts
Revises: 0007_telemetry_read_indexes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_login_attempts"
down_revision = "0007_telemetry_read_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_attempts",
        sa.Column("login_key", sa.String(64), primary_key=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_login_attempts_window_start", "login_attempts", ["window_start"])


def downgrade() -> None:
    op.drop_index("ix_login_attempts_window_start", table_name="login_attempts")
    op.drop_table("login_attempts")
