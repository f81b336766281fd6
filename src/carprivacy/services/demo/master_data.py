"""The demo master data: Dutch customers with addresses, MINI vehicles with
real-looking VINs, contracts with connected services, an owner change, a lease fleet with drivers,
and payment transactions. Deterministic: the same seed gives the same content (ids are random).

Every name, address and e-mail is invented; e-mail addresses use example domains (RFC 2606).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from carprivacy.domain.master import (
    AccountKind,
    ContactDetails,
    PaymentMethod,
    PaymentMethodKind,
    UsageKind,
)
from carprivacy.services.master.service import MasterDataService

DEFAULT_SEED = 2024
START = datetime(2023, 1, 1, 9, 0, tzinfo=UTC)
UNTIL = datetime(2026, 6, 1, tzinfo=UTC)  # no demo payment is booked after this
YEAR_CODES = {2021: "M", 2022: "N", 2023: "P", 2024: "R", 2025: "S", 2026: "T"}  # ISO 3779

FIRST_NAMES = (
    "Sanne", "Daan", "Femke", "Bram", "Lotte", "Thijs", "Eva", "Jeroen", "Anouk", "Ruben",
    "Iris", "Sem", "Noor", "Lars", "Fleur", "Koen", "Maud", "Niels", "Sophie", "Joost",
)  # fmt: skip
SURNAMES = (
    "de Vries", "Jansen", "van den Berg", "Bakker", "Visser", "Smit", "Meijer", "de Boer",
    "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks", "van Leeuwen", "Dekker",
    "Brouwer", "de Wit", "Dijkstra", "Verhoeven",
)  # fmt: skip
# (street, city, postal-code prefix)
ADDRESSES = (
    ("Prinsengracht", "Amsterdam", "1016"),
    ("Laan van Meerdervoort", "Den Haag", "2517"),
    ("Oudegracht", "Utrecht", "3511"),
    ("Coolsingel", "Rotterdam", "3012"),
    ("Stratumseind", "Eindhoven", "5611"),
    ("Grote Markt", "Groningen", "9711"),
    ("Vrijthof", "Maastricht", "6211"),
    ("Haarlemmerweg", "Haarlem", "2031"),
    ("Burgemeester Elsenlaan", "Rijswijk", "2282"),
    ("Breestraat", "Leiden", "2311"),
    ("Steenstraat", "Arnhem", "6828"),
    ("Oude Ebbingestraat", "Groningen", "9712"),
)
MODELS = (
    ("MINI Cooper", ("sport_seats", "navigation_plus")),
    ("MINI Cooper S", ("harman_kardon", "head_up_display", "sport_seats")),
    ("MINI Cooper SE", ("heat_pump", "fast_charging", "navigation_plus")),
    ("MINI Countryman", ("all4", "panorama_roof", "towbar")),
    ("MINI Countryman SE ALL4", ("all4", "heat_pump", "driving_assistant")),
    ("MINI Clubman", ("panorama_roof", "comfort_access")),
    ("MINI Cabrio", ("soft_top", "heated_seats")),
    ("MINI John Cooper Works", ("jcw_brakes", "adaptive_suspension", "harman_kardon")),
    ("MINI Aceman", ("heat_pump", "driving_assistant_plus", "panorama_roof")),
)
COLOURS = (
    "Chili Red", "British Racing Green", "Midnight Black", "Pepper White", "Island Blue",
    "Enigmatic Black", "Melting Silver", "Zesty Yellow", "Sage Green", "Nanuq White",
)  # fmt: skip
SERVICE_BUNDLES = (
    ("ecall", "teleservices"),
    ("ecall", "teleservices", "rtti"),
    ("ecall", "teleservices", "rtti", "remote_services"),
    ("ecall", "teleservices", "rtti", "remote_services", "personal_assistant"),
    ("ecall", "teleservices", "remote_services", "smart_charging", "cardata"),
)
BANKS = ("INGB", "RABO", "ABNA", "SNSB", "TRIO", "ASNB")
CUSTOMERS = 20
OWNED_VEHICLES = 16
FLEET_VEHICLES = 5


@dataclass
class DemoSummary:
    customers: int = 0
    accounts: int = 0
    vehicles: int = 0
    fleets: int = 0
    usages: int = 0
    contracts: int = 0
    payments: int = 0
    notes: list[str] = field(default_factory=list)
    customer_ids: list[str] = field(default_factory=list)  # in the order they were made
    fleet_id: str | None = None
    # (vehicle id, VIN, model, whose data it is now), in the order they were made
    made: list[tuple[str, str, str, str]] = field(default_factory=list)
    # the VINs of the vehicles the demo's week of telemetry is for
    telemetry_vins: list[str] = field(default_factory=list)

    def rows(self) -> list[tuple[str, int]]:
        return [
            ("customers", self.customers),
            ("accounts (mini_ag login / mini_nl customer)", self.accounts),
            ("vehicles", self.vehicles),
            ("fleets", self.fleets),
            ("usage periods (owner, fleet, driver)", self.usages),
            ("contracts", self.contracts),
            ("payment transactions", self.payments),
        ]


def demo_vin(rng: random.Random, built: datetime) -> str:
    """A real-looking MINI VIN: 'WMW' (MINI's manufacturer id), a model code, a digit where the
    check digit goes (not computed), the model-year letter, the plant (Oxford 'T', Born '2') and a
    six-digit serial number."""
    model_code = rng.choice(("XU310", "XP710", "11DJ0", "31DH0", "ZP310", "21BR0", "XR310"))
    year = YEAR_CODES.get(built.year, "S")
    plant = rng.choice("T2")
    return f"WMW{model_code}{rng.randint(0, 9)}{year}{plant}{rng.randint(0, 999_999):06d}"


def _email(first: str, surname: str, i: int) -> str:
    local = f"{first}.{surname}".lower().replace(" ", "")
    return f"{local}{i}@example.nl"


def _contact(rng: random.Random, i: int) -> ContactDetails:
    first, surname = FIRST_NAMES[i % len(FIRST_NAMES)], SURNAMES[(i * 7) % len(SURNAMES)]
    street, city, prefix = ADDRESSES[rng.randrange(len(ADDRESSES))]
    letters = "".join(rng.choice("ABCDEGHJKLMNPRSTVWXZ") for _ in range(2))
    return ContactDetails(
        surname=surname,
        first_name=first,
        street=street,
        house_number=str(rng.randint(1, 250)) + rng.choice(("", "", "", "A", "B", "-1")),
        postal_code=f"{prefix} {letters}",
        city=city,
        country="NL",
        email=_email(first, surname, i),
        phone=f"+31 6 {rng.randint(10_000_000, 99_999_999)}",
    )


def _payment_method(rng: random.Random, email: str | None) -> PaymentMethod:
    kind = rng.choice(list(PaymentMethodKind))
    if kind is PaymentMethodKind.SEPA_DEBIT:
        return PaymentMethod(kind, f"NL**{rng.choice(BANKS)}****{rng.randint(0, 9999):04d}")
    if kind is PaymentMethodKind.CARD:
        brand = rng.choice(("VISA", "MC", "AMEX"))
        return PaymentMethod(kind, f"{brand} **** {rng.randint(0, 9999):04d}")
    if kind is PaymentMethodKind.PAYPAL and email:
        return PaymentMethod(kind, email[0] + "***@" + email.split("@")[1])
    return PaymentMethod(PaymentMethodKind.INVOICE, f"INV-{rng.randint(100_000, 999_999)}")


def load_demo(svc: MasterDataService, seed: int = DEFAULT_SEED) -> DemoSummary:
    """Write the demo through the use cases (so every rule and the encryption apply)."""
    rng = random.Random(seed)
    s = DemoSummary()

    people = []
    emails: dict[str, str | None] = {}
    for i in range(CUSTOMERS):
        contact = _contact(rng, i)
        customer = svc.register_customer(contact)
        people.append(customer)
        emails[customer.id] = contact.email
        svc.open_account(customer.id, "mini_nl", AccountKind.CUSTOMER, None)
        s.accounts += 1
        if rng.random() < 0.75:
            svc.open_account(customer.id, "mini_ag", AccountKind.GROUP_LOGIN, contact.email)
            s.accounts += 1
    s.customers = len(people)
    s.customer_ids = [c.id for c in people]

    def new_vehicle(built: datetime) -> str:
        model, extras = MODELS[rng.randrange(len(MODELS))]
        equipment = sorted(rng.sample(extras, k=rng.randint(1, len(extras))))
        end_of_life = date(built.year + 15, 12, 31)
        vin = demo_vin(rng, built)
        while svc.find_vehicle_by_vin(vin) is not None:  # a second run, or a rare collision
            vin = demo_vin(rng, built)
        vehicle = svc.register_vehicle(vin, model, rng.choice(COLOURS), equipment, end_of_life)
        s.vehicles += 1
        s.made.append((vehicle.id, vin, model, ""))
        return vehicle.id

    def contract_with_payments(customer_index: int, vehicle_id: str, start: datetime) -> str:
        customer = people[customer_index]
        services = SERVICE_BUNDLES[rng.randrange(len(SERVICE_BUNDLES))]
        contract = svc.conclude_contract(customer.id, vehicle_id, start, services)
        s.contracts += 1
        method = _payment_method(rng, emails[customer.id])
        for year in range(rng.randint(1, 3)):
            booked_at = start + timedelta(days=365 * year, hours=2)
            if booked_at > UNTIL:
                break
            svc.record_payment(
                customer.id,
                rng.choice((4900, 7900, 9900, 14900)),
                "EUR",
                booked_at,
                method,
                contract.id,
            )
            s.payments += 1
        return contract.id

    # Privately owned cars: customer i owns vehicle i, each with its contract.
    owned: list[tuple[str, str]] = []
    for i in range(OWNED_VEHICLES):
        since = START + timedelta(days=rng.randint(0, 540), hours=rng.randint(0, 8))
        vehicle_id = new_vehicle(since)
        svc.add_usage(vehicle_id, UsageKind.OWNER, since, customer_id=people[i].id)
        s.usages += 1
        owned.append((vehicle_id, contract_with_payments(i, vehicle_id, since)))

    # One owner change: the first car is sold to customer 16; the old contract ends that day.
    sold_at = datetime(2025, 6, 15, 10, 0, tzinfo=UTC)
    vehicle_id, old_contract = owned[0]
    svc.add_usage(vehicle_id, UsageKind.OWNER, sold_at, customer_id=people[16].id)
    svc.update_contract(old_contract, {"end": sold_at})
    contract_with_payments(16, vehicle_id, sold_at)
    s.usages += 1
    s.notes.append(f"owner change: vehicle {vehicle_id} on {sold_at:%Y-%m-%d}")

    # A lease fleet; customers 17 and 18 drive two of its cars.
    fleet = svc.create_fleet("Lease & Go Mobiliteit B.V.", "NL")
    s.fleets += 1
    since = START + timedelta(days=200)
    for n in range(FLEET_VEHICLES):
        vehicle_id = new_vehicle(since)
        svc.add_usage(vehicle_id, UsageKind.FLEET, since, fleet_id=fleet.id)
        s.usages += 1
        if n < 2:
            driver = people[17 + n]
            svc.add_usage(
                vehicle_id, UsageKind.DRIVER, since + timedelta(days=3), customer_id=driver.id
            )
            s.usages += 1
            contract_with_payments(17 + n, vehicle_id, since + timedelta(days=3))
    s.notes.append(f"fleet {fleet.id}: {FLEET_VEHICLES} vehicles, 2 with an assigned driver")
    s.fleet_id = fleet.id
    users = {vid: f"customer {i + 1}" for i, (vid, _) in enumerate(owned)}
    users[owned[0][0]] = "customer 17 (customer 1 until the owner change)"
    fleet_cars = [m[0] for m in s.made[OWNED_VEHICLES:]]
    for n, vid in enumerate(fleet_cars):
        users[vid] = f"fleet, driver customer {18 + n}" if n < 2 else "fleet"
    s.made = [(vid, vin, model, users.get(vid, "")) for vid, vin, model, _ in s.made]
    # a week of telemetry: customer 17's bought car, the cars of customers 6 (CarData consent),
    # 7 (objection) and 8 (restriction), a fleet car with a driver and one without
    vins = {vid: vin for vid, vin, _, _ in s.made}
    chosen = [owned[0][0], owned[5][0], owned[6][0], owned[7][0], fleet_cars[0], fleet_cars[2]]
    s.telemetry_vins = [vins[v] for v in chosen]
    return s
