"""Retention tables (SPEC L1, L2). Migration: 0014_retention (keep in step).

- ``legal_holds``: holds by subject, vehicle or both, optionally one category; released holds
  stay (``released_at`` set). The retention job reads the active ones at every batch.
- ``retention_runs``: one row a run; ``counts`` (JSON: table, category, rule, action, rows) is
  rewritten in the transaction of every batch, so it always says what the run committed.

The indexes the job's selections use live with their tables: ``ix_telemetry_expires_at`` and
``ix_telemetry_identified`` (telemetry.py), ``ix_contracts_ends_at`` and
``ix_payment_transactions_booked_at`` (master.py).
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, String, Table, Text

from carprivacy.adapters.db.base import metadata

ID = 36

legal_holds = Table(
    "legal_holds",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("subject_id", String(ID), nullable=True),
    Column("vehicle_id", String(ID), nullable=True),
    Column("category", String(64), nullable=True),
    Column("reason", Text, nullable=False),
    Column("created_by", String(120), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("released_at", DateTime(timezone=True), nullable=True),
    Column("released_by", String(120), nullable=True),
    Column("release_reason", Text, nullable=True),
)
Index("ix_legal_holds_released_at", legal_holds.c.released_at)

retention_runs = Table(
    "retention_runs",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("as_of", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("heartbeat_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("status", String(16), nullable=False),
    Column("policy_version", String(64), nullable=False),
    Column("counts", Text, nullable=False),
)
Index("ix_retention_runs_started_at", retention_runs.c.started_at)
