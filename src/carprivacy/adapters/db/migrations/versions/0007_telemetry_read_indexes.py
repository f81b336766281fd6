"""Indexes for reading telemetry back per vehicle and per data subject over a period (SPEC U1, R1).
Matches ``telemetry`` in adapters/db/tables/telemetry.py.

The natural key starts with the time, so a vehicle's period scanned every vehicle's rows of that
period. ``(vehicle_id, ts, id)`` and ``(subject_id, ts, id)`` serve a period read and its cursor
(the id breaks ties between signals of one moment); the second replaces ``ix_telemetry_subject_id``,
whose reads (access, erasure, portability) it serves as its prefix.

Revision ID: 0007_telemetry_read_indexes
Revises: 0005_master_key_retirements
"""

from __future__ import annotations

from alembic import op

revision = "0007_telemetry_read_indexes"
down_revision = "0006_consent_ledger"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_telemetry_vehicle_ts", "telemetry", ["vehicle_id", "ts", "id"])
    op.create_index("ix_telemetry_subject_ts", "telemetry", ["subject_id", "ts", "id"])
    op.drop_index("ix_telemetry_subject_id", table_name="telemetry")


def downgrade() -> None:
    op.create_index("ix_telemetry_subject_id", "telemetry", ["subject_id"])
    op.drop_index("ix_telemetry_subject_ts", table_name="telemetry")
    op.drop_index("ix_telemetry_vehicle_ts", table_name="telemetry")
