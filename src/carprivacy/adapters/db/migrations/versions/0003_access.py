"""Access: callers, credentials, e-mail codes, the audit log and its checkpoints, alerts, automated
decisions and review requests (SPEC U1, U3, U4). Matches adapters/db/tables/access.py.

Revision ID: 0003_access
Revises: 0002_telemetry
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_access"
down_revision = "0002_telemetry"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "callers",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("organisation", sa.String(64), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("email_hash", sa.String(64), nullable=True),
        sa.Column("email_ciphertext", sa.LargeBinary(), nullable=True),
        sa.Column("subject_id", sa.String(64), nullable=True),
        sa.Column("fleet_id", sa.String(64), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callers")),
        sa.UniqueConstraint("email_hash", name=op.f("uq_callers_email_hash")),
    )
    op.create_table(
        "caller_credentials",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("caller_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("secret_hash", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_caller_credentials")),
        sa.ForeignKeyConstraint(
            ["caller_id"], ["callers.id"], name=op.f("fk_caller_credentials_caller_id_callers")
        ),
        sa.UniqueConstraint("caller_id", "kind", name="uq_caller_credentials_caller_kind"),
    )
    op.create_table(
        "email_codes",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("caller_id", sa.String(64), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_codes")),
        sa.ForeignKeyConstraint(
            ["caller_id"], ["callers.id"], name=op.f("fk_email_codes_caller_id_callers")
        ),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("caller_id", sa.String(64), nullable=False),
        sa.Column("organisation", sa.String(64), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("purpose", sa.String(100), nullable=False),
        sa.Column("subject_ref", sa.String(64), nullable=False),
        sa.Column("vehicle_ref", sa.String(64), nullable=False),
        sa.Column("categories", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column("form", sa.String(32), nullable=False),
        sa.Column("action", sa.String(120), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_caller_at", "audit_log", ["caller_id", "at"])
    op.create_index("ix_audit_log_subject_ref", "audit_log", ["subject_ref"])
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_table(
        "audit_checkpoints",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_checkpoints")),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("rule", sa.String(32), nullable=False),
        sa.Column("caller_id", sa.String(64), nullable=False),
        sa.Column("organisation", sa.String(64), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("window_start", TS, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("entry_seq", sa.BigInteger(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("acknowledged", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    op.create_index("ix_alerts_at", "alerts", ["at"])
    op.create_table(
        "automated_decisions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(100), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("model_version", sa.String(200), nullable=False),
        sa.Column("inputs", sa.LargeBinary(), nullable=False),
        sa.Column("categories", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automated_decisions")),
    )
    op.create_index("ix_automated_decisions_subject_id", "automated_decisions", ["subject_id"])
    op.create_table(
        "review_requests",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("decision_id", sa.String(64), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("requested_at", TS, nullable=False),
        sa.Column("reason", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reviewer", sa.String(64), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("new_outcome", sa.Text(), nullable=True),
        sa.Column("note", sa.LargeBinary(), nullable=True),
        sa.Column("reviewed_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_requests")),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["automated_decisions.id"],
            name=op.f("fk_review_requests_decision_id_automated_decisions"),
        ),
    )
    op.create_index("ix_review_requests_decision_id", "review_requests", ["decision_id"])


def downgrade() -> None:
    for name in (
        "review_requests",
        "automated_decisions",
        "alerts",
        "audit_checkpoints",
        "audit_log",
        "email_codes",
        "caller_credentials",
        "callers",
    ):
        op.drop_table(name)
