"""How the master-data answers map onto the policy's data categories.

Each :class:`~carprivacy.entrypoints.api.release.View` names the category an answer object belongs
to, which of its fields are which policy fields (personal data, released as the decision says),
which are plain metadata (times coarsened in pseudonymised form), and which are references to a
customer, a vehicle or a customer-linked row (released in clear only in a form that allows it,
as pseudonyms when pseudonymised, left out when vehicle-linked). Fields not listed are never
released.
"""

from __future__ import annotations

from carprivacy.entrypoints.api.release import View

CONTACT_FIELDS = (
    "surname",
    "first_name",
    "street",
    "house_number",
    "postal_code",
    "city",
    "country",
    "email",
    "phone",
)

CUSTOMER_VIEW = View(
    "contact",
    {f: f for f in CONTACT_FIELDS} | {"id": "customer_id"},
    metadata=frozenset({"erased", "created_at", "updated_at"}),
)
ACCOUNT_VIEW = View(
    "account",
    {"login_id": "login_id"},
    metadata=frozenset({"controller", "kind", "created_at"}),
    subject_refs=frozenset({"customer_id"}),
    linked_ids=frozenset({"id"}),
)
VEHICLE_VIEW = View(
    "vehicle_general",
    {"vin": "vin", "model": "model", "colour": "colour", "equipment": "equipment"},
    metadata=frozenset({"end_of_life", "created_at", "updated_at"}),
    vehicle_refs=frozenset({"id"}),
)
USAGE_VIEW = View(
    "vehicle_general",
    {},
    metadata=frozenset({"kind", "start", "end", "created_at", "at", "basis"}),
    subject_refs=frozenset({"customer_id"}),
    vehicle_refs=frozenset({"vehicle_id"}),
    linked_ids=frozenset({"id", "fleet_id"}),
)
CONTRACT_VIEW = View(
    "contract",
    {"id": "contract_id", "services": "services", "start": "start_date", "end": "end_date"},
    metadata=frozenset({"created_at", "updated_at"}),
    subject_refs=frozenset({"customer_id"}),
    vehicle_refs=frozenset({"vehicle_id"}),
)
PAYMENT_VIEW = View(
    "financial_transactions",
    {
        "id": "transaction_id",
        "amount": "amount",
        "currency": "currency",
        "booked_at": "transaction_date",
        "method": "payment_reference",
    },
    metadata=frozenset({"created_at"}),
    subject_refs=frozenset({"customer_id", "contract_id"}),
)
