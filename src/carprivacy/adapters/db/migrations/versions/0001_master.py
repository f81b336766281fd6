"""Master data: customers, accounts per controller, fleets, vehicles, usage periods, contracts,
payment transactions (SPEC I4, P1). Matches adapters/db/tables/master.py.

Revision ID: 0001_master
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_master"
down_revision = None
branch_labels = None
depends_on = None

ID = 36


def _times(*names: str) -> list[sa.Column[object]]:
    return [sa.Column(n, sa.DateTime(timezone=True), nullable=False) for n in names]


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("surname", sa.LargeBinary(), nullable=False),
        sa.Column("first_name", sa.LargeBinary(), nullable=False),
        sa.Column("street", sa.LargeBinary(), nullable=False),
        sa.Column("house_number", sa.LargeBinary(), nullable=False),
        sa.Column("postal_code", sa.LargeBinary(), nullable=False),
        sa.Column("city", sa.LargeBinary(), nullable=False),
        sa.Column("country", sa.LargeBinary(), nullable=False),
        sa.Column("email", sa.LargeBinary(), nullable=True),
        sa.Column("phone", sa.LargeBinary(), nullable=True),
        *_times("created_at", "updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
    )
    op.create_table(
        "fleets",
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        *_times("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fleets")),
    )
    op.create_table(
        "vehicles",
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("vin", sa.String(17), nullable=False),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("colour", sa.String(50), nullable=False),
        sa.Column("equipment", sa.JSON(), nullable=False),
        sa.Column("end_of_life", sa.Date(), nullable=True),
        *_times("created_at", "updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vehicles")),
        sa.UniqueConstraint("vin", name=op.f("uq_vehicles_vin")),
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("customer_id", sa.String(ID), nullable=False),
        sa.Column("controller", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("login_id", sa.LargeBinary(), nullable=True),
        *_times("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint(
            "customer_id",
            "controller",
            "kind",
            name=op.f("uq_accounts_customer_controller_kind"),
        ),
        sa.CheckConstraint("kind IN ('group_login', 'customer')", name=op.f("ck_accounts_kind")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_accounts_customer_id_customers")
        ),
    )
    op.create_index(op.f("ix_accounts_customer_id"), "accounts", ["customer_id"])
    op.create_table(
        "contracts",
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("customer_id", sa.String(ID), nullable=False),
        sa.Column("vehicle_id", sa.String(ID), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("services", sa.JSON(), nullable=False),
        *_times("created_at", "updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contracts")),
        sa.CheckConstraint(
            "ends_at IS NULL OR ends_at > starts_at", name=op.f("ck_contracts_period")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_contracts_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["vehicle_id"], ["vehicles.id"], name=op.f("fk_contracts_vehicle_id_vehicles")
        ),
    )
    op.create_index(op.f("ix_contracts_customer_id"), "contracts", ["customer_id"])
    op.create_index(op.f("ix_contracts_vehicle_id"), "contracts", ["vehicle_id"])
    op.create_table(
        "vehicle_usages",
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("vehicle_id", sa.String(ID), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("customer_id", sa.String(ID), nullable=True),
        sa.Column("fleet_id", sa.String(ID), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        *_times("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vehicle_usages")),
        sa.CheckConstraint(
            "kind IN ('owner', 'fleet', 'driver')", name=op.f("ck_vehicle_usages_kind")
        ),
        sa.CheckConstraint(
            "customer_id IS NOT NULL OR fleet_id IS NOT NULL", name=op.f("ck_vehicle_usages_party")
        ),
        sa.CheckConstraint(
            "ends_at IS NULL OR ends_at > starts_at", name=op.f("ck_vehicle_usages_period")
        ),
        sa.ForeignKeyConstraint(
            ["vehicle_id"], ["vehicles.id"], name=op.f("fk_vehicle_usages_vehicle_id_vehicles")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_vehicle_usages_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["fleet_id"], ["fleets.id"], name=op.f("fk_vehicle_usages_fleet_id_fleets")
        ),
    )
    op.create_index(op.f("ix_vehicle_usages_vehicle_id"), "vehicle_usages", ["vehicle_id"])
    op.create_index(op.f("ix_vehicle_usages_customer_id"), "vehicle_usages", ["customer_id"])
    op.create_table(
        "payment_transactions",
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("customer_id", sa.String(ID), nullable=False),
        sa.Column("contract_id", sa.String(ID), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("booked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("method_kind", sa.String(16), nullable=False),
        sa.Column("method_details", sa.LargeBinary(), nullable=False),
        *_times("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_transactions")),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_payment_transactions_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_payment_transactions_contract_id_contracts"),
        ),
    )
    op.create_index(
        op.f("ix_payment_transactions_customer_id"), "payment_transactions", ["customer_id"]
    )


def downgrade() -> None:
    op.drop_table("payment_transactions")
    op.drop_table("vehicle_usages")
    op.drop_table("contracts")
    op.drop_table("accounts")
    op.drop_table("vehicles")
    op.drop_table("fleets")
    op.drop_table("customers")
