"""The append-only consent ledger (SPEC C1, C4, R4, R6); matches adapters/db/tables/subject_state.py
(table ``subject_ledger``).

Triggers refuse every UPDATE and DELETE of a ledger row, on SQLite and on PostgreSQL.

Revision ID: 0006_consent_ledger
Revises: 0005_master_key_retirements
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_consent_ledger"
down_revision = "0005_master_key_retirements"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
MESSAGE = "subject_ledger is append-only"


def upgrade() -> None:
    op.create_table(
        "subject_ledger",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("record_id", sa.String(64), nullable=False),
        sa.Column("topic", sa.String(64), nullable=True),
        sa.Column("choice", sa.String(16), nullable=True),
        sa.Column("party", sa.String(64), nullable=True),
        sa.Column("vehicle_id", sa.String(64), nullable=True),
        sa.Column("text_version", sa.String(32), nullable=True),
        sa.Column("text_hash", sa.String(64), nullable=True),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("purpose", sa.String(64), nullable=True),
        sa.Column("marketing", sa.Boolean(), nullable=False),
        sa.Column("restriction_case", sa.String(32), nullable=True),
        sa.Column("categories", sa.Text(), nullable=False),
        sa.Column("ground", sa.String(32), nullable=True),
        sa.Column("note", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_ledger")),
    )
    op.create_index("ix_subject_ledger_subject_at", "subject_ledger", ["subject_id", "at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION subject_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER subject_ledger_append_only BEFORE UPDATE OR DELETE ON subject_ledger "
            "FOR EACH ROW EXECUTE FUNCTION subject_ledger_append_only()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER subject_ledger_no_{action.lower()} BEFORE {action} "
                f"ON subject_ledger BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS subject_ledger_append_only ON subject_ledger")
        op.execute("DROP FUNCTION IF EXISTS subject_ledger_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS subject_ledger_no_update")
        op.execute("DROP TRIGGER IF EXISTS subject_ledger_no_delete")
    op.drop_index("ix_subject_ledger_subject_at", table_name="subject_ledger")
    op.drop_table("subject_ledger")
