"""CarData sharing: registered third parties, their clients' share requests, shares and the
shares' append-only history (SPEC C2; Data Act Art. 4-6). Matches
adapters/db/tables/shares.py.

Revision ID: 0018_cardata_shares
Revises: 0017_cardata_stream
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018_cardata_shares"
down_revision = "0017_cardata_stream"
branch_labels = None
depends_on = None
MESSAGE = "cardata_share_events is append-only"


def _at(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "third_parties",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("member_of", sa.String(64), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("transfer_mechanism", sa.String(16), nullable=False),
        sa.Column("undertaking", sa.String(64), nullable=False),
        _at("registered_at"),
        sa.Column("registered_by", sa.String(64), nullable=False),
    )
    op.create_table(
        "share_requests",
        sa.Column("client_id", sa.String(64), primary_key=True),
        sa.Column("party", sa.String(64), sa.ForeignKey("third_parties.id"), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("agreed_purpose", sa.String(100), nullable=False),
        sa.Column("descriptors", sa.Text, nullable=False),
        sa.Column("days", sa.Integer, nullable=False),
    )
    op.create_table(
        "cardata_shares",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("vehicle_id", sa.String(64), nullable=False),
        sa.Column("party", sa.String(64), sa.ForeignKey("third_parties.id"), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("topic", sa.String(64), nullable=False),
        sa.Column("agreed_purpose", sa.String(100), nullable=False),
        sa.Column("descriptors", sa.Text, nullable=False),
        sa.Column("categories", sa.Text, nullable=False),
        sa.Column("withheld", sa.Text, nullable=False),
        _at("valid_from"),
        _at("valid_until"),
        _at("created_at"),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("via", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        _at("revoked_at", nullable=True),
        sa.Column("grant_id", sa.String(64), nullable=True),
        sa.Column("terms_version", sa.String(16), nullable=False),
        sa.Column("purpose_bound", sa.Boolean, nullable=False),
        sa.Column("onward_transfer", sa.Boolean, nullable=False),
    )
    op.create_index("ix_cardata_shares_subject_id", "cardata_shares", ["subject_id"])
    op.create_index("ix_cardata_shares_party", "cardata_shares", ["party", "vehicle_id"])
    op.create_table(
        "cardata_share_events",
        sa.Column("share_id", sa.String(64), sa.ForeignKey("cardata_shares.id"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        _at("at"),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        _at("recorded_at"),
        sa.UniqueConstraint("share_id", "seq", name="uq_cardata_share_events_share_id_seq"),
    )
    op.create_index("ix_cardata_share_events_recorded_at", "cardata_share_events", ["recorded_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION cardata_share_events_append_only() RETURNS trigger LANGUAGE plpgsql "
            f"AS $$ BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER cardata_share_events_append_only BEFORE UPDATE OR DELETE ON "
            "cardata_share_events FOR EACH ROW EXECUTE FUNCTION cardata_share_events_append_only()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER cardata_share_events_no_{action.lower()} BEFORE {action} "
                f"ON cardata_share_events BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "DROP TRIGGER IF EXISTS cardata_share_events_append_only ON cardata_share_events"
        )
        op.execute("DROP FUNCTION IF EXISTS cardata_share_events_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS cardata_share_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS cardata_share_events_no_delete")
    op.drop_index("ix_cardata_share_events_recorded_at", table_name="cardata_share_events")
    op.drop_table("cardata_share_events")
    op.drop_index("ix_cardata_shares_party", table_name="cardata_shares")
    op.drop_index("ix_cardata_shares_subject_id", table_name="cardata_shares")
    op.drop_table("cardata_shares")
    op.drop_table("share_requests")
    op.drop_table("third_parties")
