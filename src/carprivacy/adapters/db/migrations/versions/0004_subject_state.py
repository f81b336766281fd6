"""Subject state: consents, objections, overrides, restrictions (SPEC U2, C4, R4, R6).
Matches adapters/db/tables/subject_state.py.

Revision ID: 0004_subject_state
Revises: 0003_access
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_subject_state"
down_revision = "0003_access"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "subject_consents",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("topic", sa.String(64), nullable=False),
        sa.Column("choice", sa.String(16), nullable=False),
        sa.Column("text_version", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("given_at", TS, nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("vehicle_id", sa.String(64), nullable=True),
        sa.Column("withdrawn_at", TS, nullable=True),
        sa.Column("withdrawn_by", sa.String(64), nullable=True),
        sa.Column("withdrawal_channel", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_consents")),
    )
    op.create_index("ix_subject_consents_subject_id", "subject_consents", ["subject_id"])
    op.create_table(
        "subject_objections",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("made_at", TS, nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=True),
        sa.Column("marketing", sa.Boolean(), nullable=False),
        sa.Column("grounds", sa.LargeBinary(), nullable=False),
        sa.Column("withdrawn_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_objections")),
    )
    op.create_index("ix_subject_objections_subject_id", "subject_objections", ["subject_id"])
    op.create_table(
        "subject_overrides",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("ground", sa.String(32), nullable=False),
        sa.Column("justification", sa.LargeBinary(), nullable=False),
        sa.Column("decided_by", sa.String(64), nullable=False),
        sa.Column("decided_at", TS, nullable=False),
        sa.Column("ended_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_overrides")),
    )
    op.create_index("ix_subject_overrides_subject_id", "subject_overrides", ["subject_id"])
    op.create_table(
        "subject_restrictions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("restriction_case", sa.String(32), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("categories", sa.Text(), nullable=False),
        sa.Column("lifted_at", TS, nullable=True),
        sa.Column("lifted_by", sa.String(64), nullable=True),
        sa.Column("lift_notice", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_restrictions")),
    )
    op.create_index("ix_subject_restrictions_subject_id", "subject_restrictions", ["subject_id"])


def downgrade() -> None:
    for table in (
        "subject_restrictions",
        "subject_overrides",
        "subject_objections",
        "subject_consents",
    ):
        op.drop_index(f"ix_{table}_subject_id", table_name=table)
        op.drop_table(table)
