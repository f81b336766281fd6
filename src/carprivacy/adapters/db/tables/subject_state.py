"""Tables of consents, objections, overrides and restrictions (SPEC U2, C4, R4, R6).

Rows are evidence: they are closed (withdrawn_at, ended_at, lifted_at), never deleted. Free text
that may describe the person (objection grounds, override justification, lift notice) is
``LargeBinary``: AES-GCM ciphertext under the subject's key (FieldCipher), so erasure by
crypto-shredding removes it too.
Migration: ``0004_subject_state``; keep both in step (tests compare them on both databases).
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Index, LargeBinary, String, Table, Text

from carprivacy.adapters.db.base import metadata

TS = DateTime(timezone=True)

subject_consents = Table(
    "subject_consents",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("subject_id", String(64), nullable=False),
    Column("topic", String(64), nullable=False),
    Column("choice", String(16), nullable=False),
    Column("text_version", String(32), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("given_at", TS, nullable=False),
    Column("recorded_by", String(64), nullable=False),
    Column("vehicle_id", String(64), nullable=True),
    Column("withdrawn_at", TS, nullable=True),
    Column("withdrawn_by", String(64), nullable=True),
    Column("withdrawal_channel", String(32), nullable=True),
    Index("ix_subject_consents_subject_id", "subject_id"),
)

subject_objections = Table(
    "subject_objections",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("subject_id", String(64), nullable=False),
    Column("made_at", TS, nullable=False),
    Column("recorded_by", String(64), nullable=False),
    Column("purpose", String(64), nullable=True),
    Column("marketing", Boolean, nullable=False),
    Column("grounds", LargeBinary, nullable=False),
    Column("withdrawn_at", TS, nullable=True),
    Index("ix_subject_objections_subject_id", "subject_id"),
)

subject_overrides = Table(
    "subject_overrides",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("subject_id", String(64), nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("ground", String(32), nullable=False),
    Column("justification", LargeBinary, nullable=False),
    Column("decided_by", String(64), nullable=False),
    Column("decided_at", TS, nullable=False),
    Column("ended_at", TS, nullable=True),
    Index("ix_subject_overrides_subject_id", "subject_id"),
)

subject_restrictions = Table(
    "subject_restrictions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("subject_id", String(64), nullable=False),
    Column("restriction_case", String(32), nullable=False),
    Column("started_at", TS, nullable=False),
    Column("recorded_by", String(64), nullable=False),
    Column("categories", Text, nullable=False),  # space-separated category ids; empty: all
    Column("lifted_at", TS, nullable=True),
    Column("lifted_by", String(64), nullable=True),
    Column("lift_notice", LargeBinary, nullable=True),
    Index("ix_subject_restrictions_subject_id", "subject_id"),
)
