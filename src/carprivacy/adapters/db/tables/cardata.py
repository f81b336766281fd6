"""Tables of CarData: client ids, device grants, refresh tokens, containers and call counts.

Device codes, user codes and refresh tokens are kept as keyed hashes only; call counts are keyed
by a keyed hash of the client or account id. Migration: ``0016_cardata`` (a test compares them on
SQLite and PostgreSQL).
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Index, Integer, String, Table, Text

from carprivacy.adapters.db.base import metadata

cardata_clients = Table(
    "cardata_clients",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("owner_id", String(64), ForeignKey("callers.id"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("scopes", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_cardata_clients_owner_id", "owner_id"),
)

cardata_grants = Table(
    "cardata_grants",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("client_id", String(64), nullable=False),
    Column("owner_id", String(64), nullable=False),
    Column("device_code_hash", String(64), nullable=False, unique=True),
    Column("user_code_hash", String(64), nullable=False, unique=True),
    Column("code_challenge", String(64), nullable=False),
    Column("scopes", Text, nullable=False),
    Column("interval", Integer, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False),
    Column("last_poll_at", DateTime(timezone=True), nullable=True),
    Column("gcid", String(64), nullable=True),
    Index("ix_cardata_grants_client_id", "client_id"),
)

cardata_refresh_tokens = Table(
    "cardata_refresh_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("grant_id", String(64), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("used", Boolean, nullable=False),
    Index("ix_cardata_refresh_tokens_grant_id", "grant_id"),
)

cardata_containers = Table(
    "cardata_containers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("owner_id", String(64), nullable=False),
    Column("name", String(100), nullable=False),
    Column("purpose", String(100), nullable=False),
    Column("descriptors", Text, nullable=False),  # JSON list of catalogue signal names
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("deleted", Boolean, nullable=False),
    Index("ix_cardata_containers_owner_id", "owner_id"),
)

# calls per client or account (a keyed hash of it) in the current window: shared by every
# process that serves the CarData API
cardata_calls = Table(
    "cardata_calls",
    metadata,
    Column("call_key", String(64), primary_key=True),
    Column("calls", Integer, nullable=False),
    Column("window_start", DateTime(timezone=True), nullable=False),
    Index("ix_cardata_calls_window_start", "window_start"),
)
