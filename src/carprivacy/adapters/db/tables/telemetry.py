"""Telemetry tables (SPEC I1-I3). Migrations: 0002_telemetry, 0006, 0007, 0009, 0014, 0022 (keep in
step).

- ``telemetry``: one accepted signal value. Sensitive categories hold only ``value_ciphertext``
  (AES-256-GCM under ``key_owner``'s data key, associated data = the natural key). The natural key
  (ts, vehicle_id, signal, source) is unique so that a redelivered message is stored once
  (INSERT ... ON CONFLICT DO NOTHING). Time leads the key: records arrive roughly in time order,
  so inserts touch the right edge of the index instead of one page per vehicle (3x faster inserts
  on SQLite); the same index serves reads of a time window of every vehicle. A vehicle's or a
  subject's period (the reads through the gate, access, erasure, portability) uses
  ``ix_telemetry_vehicle_ts`` / ``ix_telemetry_subject_ts`` (migration
  0007_telemetry_read_indexes); the retention job uses ``ix_telemetry_expires_at``. No foreign
  key to ``vehicles``: the hot insert path stays cheap, and ingestion only stores rows of
  vehicles it has just looked up. On PostgreSQL the primary key is ``(id, vehicle_id, ts)``
  (migration 0009_telemetry_distributable_key, and ``after_create`` below): every key of the table
  then holds the vehicle and the time, so that distributing it by vehicle (Citus) is one
  documented DDL step (docs/scaling.md), and it is partitioned by week of ``ts``
  (0022_telemetry_partitions, adapters/db/partitions.py) so that retention drops a fully expired
  week instead of deleting its rows. SQLite keeps ``id`` as its rowid and one table.
- ``telemetry_quarantine``: refused records and unparseable messages with their reasons; the
  payload is encrypted (it may hold a position or a voice command).
- ``data_keys``: per-owner data keys wrapped by the master key; ``wrapped_key`` NULL = destroyed.
- ``master_key_retirements``: master key ids that may wrap no new data key (a rotation retired
  them; migration 0005_master_key_retirements).
- ``vehicle_credentials``: per-vehicle bearer tokens, stored as SHA-256 (random 256-bit tokens).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    DDL,
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import CreateTable

from carprivacy.adapters.db.base import metadata

ID = 36
BIG_ID = BigInteger().with_variant(Integer(), "sqlite")

telemetry = Table(
    "telemetry",
    metadata,
    Column("id", BIG_ID, primary_key=True, autoincrement=True),
    Column("vehicle_id", String(ID), nullable=False),
    Column("subject_id", String(ID), nullable=True),
    Column("fleet_id", String(ID), nullable=True),
    Column("key_owner", String(80), nullable=False),
    Column("signal", String(200), nullable=False),
    Column("category", String(64), nullable=False),
    Column("unit", String(32), nullable=True),
    Column("value", Text, nullable=True),
    Column("value_ciphertext", LargeBinary, nullable=True),
    Column("ts", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("source", String(16), nullable=False),
    Column("purposes", Text, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("ts", "vehicle_id", "signal", "source", name="uq_telemetry_natural_key"),
    CheckConstraint("(value IS NULL) <> (value_ciphertext IS NULL)", name="value_xor_ciphertext"),
    CheckConstraint("source IN ('http', 'mqtt', 'workshop')", name="source"),
    # PostgreSQL: one partition per week of ``ts`` and a default one (adapters/db/partitions.py)
    postgresql_partition_by="RANGE (ts)",
)
# reads of a period per vehicle and per subject, with their cursor (0007_telemetry_read_indexes)
Index("ix_telemetry_vehicle_ts", telemetry.c.vehicle_id, telemetry.c.ts, telemetry.c.id)
Index("ix_telemetry_subject_ts", telemetry.c.subject_id, telemetry.c.ts, telemetry.c.id)
Index("ix_telemetry_expires_at", telemetry.c.expires_at)
# the retention job's identified-form step: rows still linked to a subject, per category and time
# (0014_retention); rows leave it when they are anonymised
Index(
    "ix_telemetry_identified",
    telemetry.c.category,
    telemetry.c.ts,
    sqlite_where=telemetry.c.subject_id.isnot(None),
    postgresql_where=telemetry.c.subject_id.isnot(None),
)


@compiles(CreateTable, "postgresql")
def _create_table(create: CreateTable, compiler: Any, **kw: Any) -> str:
    """PostgreSQL: telemetry's primary key ``(id, vehicle_id, ts)``
    (0009_telemetry_distributable_key), which its partitions by ``ts`` need, for tables made
    from this model too."""
    sql: str = compiler.visit_create_table(create, **kw)
    if create.element is telemetry:
        narrow = "CONSTRAINT pk_telemetry PRIMARY KEY (id)"
        assert narrow in sql, sql
        sql = sql.replace(narrow, "CONSTRAINT pk_telemetry PRIMARY KEY (id, vehicle_id, ts)")
    return sql


# and its default partition (0022_telemetry_partitions); the weeks: partitions.ensure_weeks
event.listen(
    telemetry,
    "after_create",
    DDL(  # type: ignore[no-untyped-call]  # SQLAlchemy's DDL() has no annotations
        "CREATE TABLE telemetry_default PARTITION OF telemetry DEFAULT"
    ).execute_if(dialect="postgresql"),
)

telemetry_quarantine = Table(
    "telemetry_quarantine",
    metadata,
    Column("id", BIG_ID, primary_key=True, autoincrement=True),
    Column("source", String(16), nullable=False),
    Column("vehicle_id", String(ID), nullable=True),
    Column("record_index", Integer, nullable=True),
    Column("reasons", Text, nullable=False),
    Column("key_owner", String(80), nullable=False),
    Column("payload_ciphertext", LargeBinary, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)
Index("ix_telemetry_quarantine_received_at", telemetry_quarantine.c.received_at)

data_keys = Table(
    "data_keys",
    metadata,
    Column("owner", String(120), primary_key=True),
    Column("wrapped_key", LargeBinary, nullable=True),
    Column("master_key_id", String(16), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("destroyed_at", DateTime(timezone=True), nullable=True),
)

master_key_retirements = Table(
    "master_key_retirements",
    metadata,
    Column("key_id", String(16), primary_key=True),
    Column("retired_at", DateTime(timezone=True), nullable=False),
)

vehicle_credentials = Table(
    "vehicle_credentials",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("vehicle_id", String(ID), ForeignKey("vehicles.id"), nullable=False, index=True),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)
