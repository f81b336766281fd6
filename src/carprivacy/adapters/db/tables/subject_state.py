"""Tables of consents, objections, overrides and restrictions (SPEC U2, C4, R4, R6).

Rows are evidence: they are closed (withdrawn_at, ended_at, lifted_at), never deleted. Free text
that may describe the person (objection grounds, override justification, lift notice) is
``LargeBinary``: AES-GCM ciphertext under the subject's key (FieldCipher), so erasure by
crypto-shredding removes it too.
Migration: ``0004_subject_state``; keep both in step (tests compare them on both databases).
"""

from __future__ import annotations

from sqlalchemy import (
    DDL,
    Boolean,
    Column,
    DateTime,
    Index,
    LargeBinary,
    String,
    Table,
    Text,
    event,
)

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

# The consent ledger (SPEC C1, C4): append-only. The migration ``0006_consent_ledger`` adds
# triggers that refuse every UPDATE and DELETE on it, on SQLite and PostgreSQL alike.
subject_ledger = Table(
    "subject_ledger",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("subject_id", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("at", TS, nullable=False),
    Column("recorded_by", String(64), nullable=False),
    Column("actor", String(16), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("record_id", String(64), nullable=False),
    Column("topic", String(64), nullable=True),
    Column("choice", String(16), nullable=True),
    Column("party", String(64), nullable=True),
    Column("vehicle_id", String(64), nullable=True),
    Column("text_version", String(32), nullable=True),
    Column("text_hash", String(64), nullable=True),
    Column("language", String(8), nullable=True),
    Column("purpose", String(64), nullable=True),
    Column("marketing", Boolean(), nullable=False),
    Column("restriction_case", String(32), nullable=True),
    Column("categories", Text(), nullable=False),
    Column("ground", String(32), nullable=True),
    Column("note", LargeBinary(), nullable=True),  # sealed under the subject's key
    Index("ix_subject_ledger_subject_at", "subject_id", "at"),
)

_APPEND_ONLY = "subject_ledger is append-only"
for _action in ("update", "delete"):
    event.listen(
        subject_ledger,
        "after_create",
        DDL(  # type: ignore[no-untyped-call]
            f"CREATE TRIGGER subject_ledger_no_{_action} BEFORE {_action.upper()} "
            f"ON subject_ledger BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END"
        ).execute_if(dialect="sqlite"),
    )
event.listen(
    subject_ledger,
    "after_create",
    DDL(  # type: ignore[no-untyped-call]
        "CREATE OR REPLACE FUNCTION subject_ledger_append_only() RETURNS trigger "
        f"LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{_APPEND_ONLY}'; END $$"
    ).execute_if(dialect="postgresql"),
)
event.listen(
    subject_ledger,
    "after_create",
    DDL(  # type: ignore[no-untyped-call]
        "CREATE TRIGGER subject_ledger_append_only BEFORE UPDATE OR DELETE ON subject_ledger "
        "FOR EACH ROW EXECUTE FUNCTION subject_ledger_append_only()"
    ).execute_if(dialect="postgresql"),
)
