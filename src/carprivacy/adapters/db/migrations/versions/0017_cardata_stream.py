"""The CarData stream: each account's current stream credential (which token, until when; never
the token). Matches adapters/db/tables/cardata_stream.py.

Revision ID: 0017_cardata_stream
Revises: 0019_rights_requests
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_cardata_stream"
down_revision = "0019_rights_requests"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cardata_stream_credentials",
        sa.Column("gcid", sa.String(64), primary_key=True),
        sa.Column("owner_id", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("grant_id", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("cardata_stream_credentials")
