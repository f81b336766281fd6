"""Telemetry: accepted values, quarantine, wrapped data keys, vehicle credentials (SPEC
I1-I3). Matches adapters/db/tables/telemetry.py.

Revision ID: 0002_telemetry
Revises: 0001_master
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_telemetry"
down_revision = "0001_master"
branch_labels = None
depends_on = None

ID = 36
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "telemetry",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("vehicle_id", sa.String(ID), nullable=False),
        sa.Column("subject_id", sa.String(ID), nullable=True),
        sa.Column("fleet_id", sa.String(ID), nullable=True),
        sa.Column("key_owner", sa.String(80), nullable=False),
        sa.Column("signal", sa.String(200), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("unit", sa.String(32), nullable=True),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("value_ciphertext", sa.LargeBinary(), nullable=True),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("purposes", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telemetry")),
        sa.UniqueConstraint(
            "ts", "vehicle_id", "signal", "source", name=op.f("uq_telemetry_natural_key")
        ),
        sa.CheckConstraint(
            "(value IS NULL) <> (value_ciphertext IS NULL)",
            name=op.f("ck_telemetry_value_xor_ciphertext"),
        ),
        sa.CheckConstraint(
            "source IN ('http', 'mqtt', 'workshop')", name=op.f("ck_telemetry_source")
        ),
    )
    op.create_index("ix_telemetry_subject_id", "telemetry", ["subject_id"])
    op.create_index("ix_telemetry_expires_at", "telemetry", ["expires_at"])
    op.create_table(
        "telemetry_quarantine",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("vehicle_id", sa.String(ID), nullable=True),
        sa.Column("record_index", sa.Integer(), nullable=True),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("key_owner", sa.String(80), nullable=False),
        sa.Column("payload_ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telemetry_quarantine")),
    )
    op.create_index("ix_telemetry_quarantine_received_at", "telemetry_quarantine", ["received_at"])
    op.create_table(
        "data_keys",
        sa.Column("owner", sa.String(120), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column("master_key_id", sa.String(16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("destroyed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("owner", name=op.f("pk_data_keys")),
    )
    op.create_table(
        "vehicle_credentials",
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("vehicle_id", sa.String(ID), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vehicle_credentials")),
        sa.ForeignKeyConstraint(
            ["vehicle_id"],
            ["vehicles.id"],
            name=op.f("fk_vehicle_credentials_vehicle_id_vehicles"),
        ),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_vehicle_credentials_token_sha256")),
    )
    op.create_index("ix_vehicle_credentials_vehicle_id", "vehicle_credentials", ["vehicle_id"])


def downgrade() -> None:
    op.drop_index("ix_vehicle_credentials_vehicle_id", table_name="vehicle_credentials")
    op.drop_table("vehicle_credentials")
    op.drop_table("data_keys")
    op.drop_index("ix_telemetry_quarantine_received_at", table_name="telemetry_quarantine")
    op.drop_table("telemetry_quarantine")
    op.drop_index("ix_telemetry_expires_at", table_name="telemetry")
    op.drop_index("ix_telemetry_subject_id", table_name="telemetry")
    op.drop_table("telemetry")
