"""Rights requests, rectification history, access copies and transmission receipts (SPEC R1-R8).
Matches adapters/db/tables/rights.py.

Revision ID: 0019_rights_requests
Revises: 0022_telemetry_partitions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019_rights_requests"
down_revision = "0022_telemetry_partitions"
branch_labels = None
depends_on = None


def _at(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "rights_requests",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("controller", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        _at("received_at"),
        _at("due_by"),
        sa.Column("verification", sa.String(16), nullable=True),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("history", sa.Text, nullable=False),
        sa.Column("extensions", sa.Text, nullable=False),
        sa.Column("reasons", sa.LargeBinary, nullable=False),
        sa.Column("details", sa.LargeBinary, nullable=False),
        sa.Column("outcome", sa.LargeBinary, nullable=False),
        sa.Column("code_digest", sa.String(64), nullable=True),
        _at("code_expires_at", nullable=True),
        sa.Column("code_attempts", sa.Integer, nullable=True),
        _at("updated_at"),
    )
    op.create_index("ix_rights_requests_subject_id", "rights_requests", ["subject_id"])
    op.create_index("ix_rights_requests_state_due_by", "rights_requests", ["state", "due_by"])
    op.create_table(
        "rectification_history",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("record", sa.String(32), nullable=False),
        sa.Column("field", sa.String(64), nullable=False),
        sa.Column("old_value", sa.LargeBinary, nullable=True),
        sa.Column("new_value", sa.LargeBinary, nullable=True),
        _at("at"),
        sa.Column("by", sa.String(120), nullable=False),
    )
    op.create_index("ix_rectification_history_subject_id", "rectification_history", ["subject_id"])
    op.create_table(
        "export_copies",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("subject_id", sa.String(64), nullable=False),
        _at("issued_at"),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("caller_id", sa.String(120), nullable=False),
        sa.Column("fee_flagged", sa.Boolean, nullable=False),
    )
    op.create_index("ix_export_copies_subject_id", "export_copies", ["subject_id"])
    op.create_table(
        "transmission_receipts",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("subject_id", sa.String(64), nullable=False),
        _at("at"),
        sa.Column("caller_id", sa.String(120), nullable=False),
        sa.Column("endpoint", sa.LargeBinary, nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("http_status", sa.Integer, nullable=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("bytes_sent", sa.BigInteger, nullable=False),
        sa.Column("answer", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_transmission_receipts_subject_id", "transmission_receipts", ["subject_id"])


def downgrade() -> None:
    for table in (
        "transmission_receipts",
        "export_copies",
        "rectification_history",
        "rights_requests",
    ):
        op.drop_table(table)
