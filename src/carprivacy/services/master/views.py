"""How each kind of master-data record maps onto the policy's data categories (the gate's views).

One :class:`~carprivacy.services.access.views.View` per record kind: which fields are which policy
fields, which fields name a thing (and which thing: a pseudonym names the thing, so one recipient
sees one pseudonym for one vehicle on every route), and which are the record's own bookkeeping.
A field not listed here is never released. The API's answer models and the CLI use these.
"""

from __future__ import annotations

from carprivacy.domain.master import CONTACT_FIELDS, Customer, Vehicle
from carprivacy.services.access.gate import Record
from carprivacy.services.access.views import VEHICLE, View

CUSTOMER = View(
    "contact",
    {f: f for f in CONTACT_FIELDS} | {"id": "customer_id"},
    refs={"id": "customer"},
    bookkeeping=frozenset({"erased", "created_at", "updated_at"}),
)
ACCOUNT = View(
    "account",
    {"login_id": "login_id"},
    refs={"id": "account", "customer_id": "customer"},
    bookkeeping=frozenset({"controller", "kind", "created_at"}),
)
VEHICLE_RECORD = View(
    "vehicle_general",
    {f: f for f in ("vin", "model", "colour", "equipment", "end_of_life")},
    refs={"id": VEHICLE},
    bookkeeping=frozenset({"created_at", "updated_at"}),
)
USAGE = View(
    "vehicle_general",
    {},
    refs={"id": "usage", "customer_id": "customer", "vehicle_id": VEHICLE, "fleet_id": "fleet"},
    bookkeeping=frozenset({"kind", "start", "end", "created_at"}),
)
ATTRIBUTION = View(
    "vehicle_general",
    {},
    # whose data the vehicle produces: the basis (owner, driver, fleet) says as much as the id
    refs={"customer_id": "customer", "vehicle_id": VEHICLE, "fleet_id": "fleet", "basis": "basis"},
    bookkeeping=frozenset({"at"}),
    key="vehicle_id",
)
CONTRACT = View(
    "contract",
    {"id": "contract_id", "services": "services", "start": "start_date", "end": "end_date"},
    refs={"id": "contract", "customer_id": "customer", "vehicle_id": VEHICLE},
    bookkeeping=frozenset({"created_at", "updated_at"}),
)
PAYMENT = View(
    "financial_transactions",
    {
        "id": "transaction_id",
        "amount": "amount",
        "currency": "currency",
        "booked_at": "transaction_date",
        "method": "payment_reference",
    },
    refs={"id": "payment", "customer_id": "customer", "contract_id": "contract"},
    bookkeeping=frozenset({"created_at"}),
)
FLEET = View(
    "contract",  # the fleet operator's agreement: its name and country are the business's data
    {},
    refs={"id": "fleet", "name": "fleet_name", "country": "fleet_country"},
    bookkeeping=frozenset({"created_at"}),
    of_a_person=False,
)


def record(view: View, data: dict[str, object], subject_id: str | None = None) -> Record:
    """A loaded record as the gate decides it: about the customer and the vehicle its view's
    references name (``subject_id``: the customer the caller named, for a record that names none,
    such as a customer's vehicle)."""
    subject = subject_id or _named(view, data, "customer")
    return Record(data, subject, _named(view, data, VEHICLE))


def _named(view: View, data: dict[str, object], kind: str) -> str | None:
    for name, named in view.refs.items():
        if named == kind:
            value = data.get(name)
            return None if value is None else str(value)
    return None


def customer_data(customer: Customer) -> dict[str, object]:
    """A customer as the CUSTOMER view reads it: its contact fields flat (none once erased)."""
    contact = vars(customer.contact) if customer.contact is not None else {}
    return {
        "id": customer.id,
        **contact,
        "erased": customer.erased,
        "created_at": customer.created_at,
        "updated_at": customer.updated_at,
    }


def vehicle_data(vehicle: Vehicle) -> dict[str, object]:
    """A vehicle as the VEHICLE_RECORD view reads it."""
    return {**vars(vehicle), "equipment": list(vehicle.equipment)}
