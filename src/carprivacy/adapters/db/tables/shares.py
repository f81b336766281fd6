"""Tables of CarData sharing: registered third parties, the share requests of their CarData
clients, shares and the shares' append-only history (SPEC C2; Data Act Art. 4-6). Migration:
``0018_cardata_shares`` (a test compares them on SQLite and PostgreSQL).

A share names ids only (subject, vehicle, organisation, caller): no contact data, no VIN.
"""

from __future__ import annotations

from sqlalchemy import (
    DDL,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
)

from carprivacy.adapters.db.base import metadata

third_parties = Table(
    "third_parties",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("member_of", String(64), nullable=False),
    Column("country", String(2), nullable=False),
    Column("transfer_mechanism", String(16), nullable=False),
    Column("undertaking", String(64), nullable=False),
    Column("registered_at", DateTime(timezone=True), nullable=False),
    Column("registered_by", String(64), nullable=False),
)

# what a third party's CarData client asks a customer to share when its device code is approved
share_requests = Table(
    "share_requests",
    metadata,
    Column("client_id", String(64), primary_key=True),
    Column("party", String(64), ForeignKey("third_parties.id"), nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("agreed_purpose", String(100), nullable=False),
    Column("descriptors", Text, nullable=False),  # JSON list of catalogue signal names
    Column("days", Integer, nullable=False),
)

cardata_shares = Table(
    "cardata_shares",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("subject_id", String(64), nullable=False),
    Column("vehicle_id", String(64), nullable=False),
    Column("party", String(64), ForeignKey("third_parties.id"), nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("topic", String(64), nullable=False),
    Column("agreed_purpose", String(100), nullable=False),
    Column("descriptors", Text, nullable=False),  # JSON lists
    Column("categories", Text, nullable=False),
    Column("withheld", Text, nullable=False),
    Column("valid_from", DateTime(timezone=True), nullable=False),
    Column("valid_until", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("via", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("grant_id", String(64), nullable=True),
    Column("terms_version", String(16), nullable=False),
    Column("purpose_bound", Boolean, nullable=False),
    Column("onward_transfer", Boolean, nullable=False),
    Index("ix_cardata_shares_subject_id", "subject_id"),
    Index("ix_cardata_shares_party", "party", "vehicle_id"),
)

cardata_share_events = Table(
    "cardata_share_events",
    metadata,
    Column("share_id", String(64), ForeignKey("cardata_shares.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("state", String(16), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("share_id", "seq", name="uq_cardata_share_events_share_id_seq"),
    Index("ix_cardata_share_events_recorded_at", "recorded_at"),
)

# A share's history is append-only: the migration ``0018_cardata_shares`` adds triggers that
# refuse every UPDATE and DELETE on it, on SQLite and PostgreSQL alike (as the consent ledger's).
APPEND_ONLY = "cardata_share_events is append-only"
for _action in ("update", "delete"):
    event.listen(
        cardata_share_events,
        "after_create",
        DDL(  # type: ignore[no-untyped-call]
            f"CREATE TRIGGER cardata_share_events_no_{_action} BEFORE {_action.upper()} "
            f"ON cardata_share_events BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
        ).execute_if(dialect="sqlite"),
    )
event.listen(
    cardata_share_events,
    "after_create",
    DDL(  # type: ignore[no-untyped-call]
        "CREATE OR REPLACE FUNCTION cardata_share_events_append_only() RETURNS trigger "
        f"LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$"
    ).execute_if(dialect="postgresql"),
)
event.listen(
    cardata_share_events,
    "after_create",
    DDL(  # type: ignore[no-untyped-call]
        "CREATE TRIGGER cardata_share_events_append_only BEFORE UPDATE OR DELETE ON "
        "cardata_share_events FOR EACH ROW EXECUTE FUNCTION cardata_share_events_append_only()"
    ).execute_if(dialect="postgresql"),
)
