"""Master data tables (SPEC I4, P1). Migrations: migrations/versions/0001_master.py and
0014_retention (keep in step).

Columns of type ``LargeBinary`` hold AES-GCM ciphertext from the FieldCipher port, under the key of
the data subject ("subject:<customer id>") with the table, column and row id as associated data:
contact data and payment method details are never stored in clear.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Table,
    UniqueConstraint,
)

from carprivacy.adapters.db.base import metadata

ID = 36  # UUID strings

customers = Table(
    "customers",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("surname", LargeBinary, nullable=False),
    Column("first_name", LargeBinary, nullable=False),
    Column("street", LargeBinary, nullable=False),
    Column("house_number", LargeBinary, nullable=False),
    Column("postal_code", LargeBinary, nullable=False),
    Column("city", LargeBinary, nullable=False),
    Column("country", LargeBinary, nullable=False),
    Column("email", LargeBinary, nullable=True),
    Column("phone", LargeBinary, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("customer_id", String(ID), ForeignKey("customers.id"), nullable=False, index=True),
    Column("controller", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("login_id", LargeBinary, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint(
        "customer_id", "controller", "kind", name="uq_accounts_customer_controller_kind"
    ),
    CheckConstraint("kind IN ('group_login', 'customer')", name="kind"),
)

fleets = Table(
    "fleets",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("country", String(2), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

vehicles = Table(
    "vehicles",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("vin", String(17), nullable=False, unique=True),
    Column("model", String(100), nullable=False),
    Column("colour", String(50), nullable=False),
    Column("equipment", JSON, nullable=False),
    Column("end_of_life", Date, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

vehicle_usages = Table(
    "vehicle_usages",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("vehicle_id", String(ID), ForeignKey("vehicles.id"), nullable=False, index=True),
    Column("kind", String(8), nullable=False),
    Column("customer_id", String(ID), ForeignKey("customers.id"), nullable=True, index=True),
    Column("fleet_id", String(ID), ForeignKey("fleets.id"), nullable=True),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("kind IN ('owner', 'fleet', 'driver')", name="kind"),
    CheckConstraint("customer_id IS NOT NULL OR fleet_id IS NOT NULL", name="party"),
    CheckConstraint("ends_at IS NULL OR ends_at > starts_at", name="period"),
)

contracts = Table(
    "contracts",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("customer_id", String(ID), ForeignKey("customers.id"), nullable=False, index=True),
    Column("vehicle_id", String(ID), ForeignKey("vehicles.id"), nullable=False, index=True),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=True),
    Column("services", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("ends_at IS NULL OR ends_at > starts_at", name="period"),
)
Index("ix_contracts_ends_at", contracts.c.ends_at)  # retention: 1 year after the end (0014)

payment_transactions = Table(
    "payment_transactions",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("customer_id", String(ID), ForeignKey("customers.id"), nullable=False, index=True),
    Column("contract_id", String(ID), ForeignKey("contracts.id"), nullable=True),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("booked_at", DateTime(timezone=True), nullable=False),
    Column("method_kind", String(16), nullable=False),
    Column("method_details", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
Index("ix_payment_transactions_booked_at", payment_transactions.c.booked_at)  # 10 years (0014)
