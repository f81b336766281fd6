"""CarData: client ids, device grants (codes kept hashed), refresh tokens, containers and the
customer API's call counts, in the database so that every API process shares them (SPEC C2,
U1). Matches adapters/db/tables/cardata.py.

Revision ID: 0016_cardata
Revises: 0014_retention
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_cardata"
down_revision = "0014_retention"
branch_labels = None
depends_on = None


def _at(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "cardata_clients",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("owner_id", sa.String(64), sa.ForeignKey("callers.id"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("scopes", sa.Text, nullable=False),
        _at("created_at"),
    )
    op.create_index("ix_cardata_clients_owner_id", "cardata_clients", ["owner_id"])
    op.create_table(
        "cardata_grants",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("owner_id", sa.String(64), nullable=False),
        sa.Column("device_code_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("user_code_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("code_challenge", sa.String(64), nullable=False),
        sa.Column("scopes", sa.Text, nullable=False),
        sa.Column("interval", sa.Integer, nullable=False),
        _at("expires_at"),
        _at("created_at"),
        sa.Column("status", sa.String(16), nullable=False),
        _at("last_poll_at", nullable=True),
        sa.Column("gcid", sa.String(64), nullable=True),
    )
    op.create_index("ix_cardata_grants_client_id", "cardata_grants", ["client_id"])
    op.create_table(
        "cardata_refresh_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("grant_id", sa.String(64), nullable=False),
        _at("expires_at"),
        _at("created_at"),
        sa.Column("used", sa.Boolean, nullable=False),
    )
    op.create_index("ix_cardata_refresh_tokens_grant_id", "cardata_refresh_tokens", ["grant_id"])
    op.create_table(
        "cardata_containers",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("owner_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("purpose", sa.String(100), nullable=False),
        sa.Column("descriptors", sa.Text, nullable=False),
        _at("created_at"),
        sa.Column("deleted", sa.Boolean, nullable=False),
    )
    op.create_index("ix_cardata_containers_owner_id", "cardata_containers", ["owner_id"])
    op.create_table(
        "cardata_calls",
        sa.Column("call_key", sa.String(64), primary_key=True),
        sa.Column("calls", sa.Integer, nullable=False),
        _at("window_start"),
    )
    op.create_index("ix_cardata_calls_window_start", "cardata_calls", ["window_start"])


def downgrade() -> None:
    op.drop_index("ix_cardata_calls_window_start", table_name="cardata_calls")
    op.drop_table("cardata_calls")
    op.drop_index("ix_cardata_containers_owner_id", table_name="cardata_containers")
    op.drop_table("cardata_containers")
    op.drop_index("ix_cardata_refresh_tokens_grant_id", table_name="cardata_refresh_tokens")
    op.drop_table("cardata_refresh_tokens")
    op.drop_index("ix_cardata_grants_client_id", table_name="cardata_grants")
    op.drop_table("cardata_grants")
    op.drop_index("ix_cardata_clients_owner_id", table_name="cardata_clients")
    op.drop_table("cardata_clients")
