"""One audit entry per read of many records, naming its subjects and vehicles (SPEC U3: a list
read is one access to N subjects). Matches ``audit_log.subjects``/``vehicles`` and
``audit_log_subjects`` in adapters/db/tables/access.py.

Revision ID: 0010_audit_list_entries
Revises: 0009_telemetry_distributable_key
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_audit_list_entries"
down_revision = "0009_telemetry_distributable_key"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # existing entries name one subject each: empty lists (and their hashes stay as they were)
    op.add_column("audit_log", sa.Column("subjects", sa.Text, nullable=False, server_default=""))
    op.add_column("audit_log", sa.Column("vehicles", sa.Text, nullable=False, server_default=""))
    op.create_table(
        "audit_log_subjects",
        sa.Column("subject_ref", sa.String(64), primary_key=True),
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    )


def downgrade() -> None:
    op.drop_table("audit_log_subjects")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("vehicles")
        batch.drop_column("subjects")
