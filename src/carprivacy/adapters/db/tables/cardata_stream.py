"""The CarData stream's table: each account's current stream credential (which token, until
when), never the token itself. Migration: ``0017_cardata_stream``."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, String, Table

from carprivacy.adapters.db.base import metadata

cardata_stream_credentials = Table(
    "cardata_stream_credentials",
    metadata,
    Column("gcid", String(64), primary_key=True),
    Column("owner_id", String(64), nullable=False),
    Column("client_id", String(64), nullable=False),
    Column("grant_id", String(64), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
)
