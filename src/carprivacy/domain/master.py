"""Master data (SPEC I4, P1): customers, accounts per controller, vehicles, usage periods, fleets,
contracts and payment transactions.

Pure rules only: entities are frozen dataclasses and ``validate_*`` functions return every
:class:`Problem` at once (field and rule, never the value). Usage periods and whose data a vehicle
produces at a moment live in :mod:`carprivacy.domain.vehicle_usage` (re-exported here).
Times are timezone-aware UTC and are passed in.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from carprivacy.domain.errors import InvalidInputError, Problem
from carprivacy.domain.vehicle_usage import Attribution as Attribution
from carprivacy.domain.vehicle_usage import UsageKind as UsageKind
from carprivacy.domain.vehicle_usage import VehicleUsage as VehicleUsage
from carprivacy.domain.vehicle_usage import aware_problem
from carprivacy.domain.vehicle_usage import change_usage as change_usage
from carprivacy.domain.vehicle_usage import subject_for as subject_for
from carprivacy.domain.vehicle_usage import subject_owner as subject_owner
from carprivacy.domain.vehicle_usage import usage_conflicts as usage_conflicts
from carprivacy.domain.vehicle_usage import validate_period as validate_period
from carprivacy.domain.vehicle_usage import validate_usage as validate_usage
from carprivacy.domain.vehicle_usage import vehicle_owner as vehicle_owner

# ISO 3779: 17 characters, digits and capital letters except I, O and Q.
VIN_PATTERN = re.compile(r"[A-HJ-NPR-Z0-9]{17}")
CURRENCY_PATTERN = re.compile(r"[A-Z]{3}")
SERVICE_PATTERN = re.compile(r"[a-z][a-z0-9_]{1,39}")
COUNTRY_PATTERN = re.compile(r"[A-Z]{2}")
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

# The connected services of the notice (section B) and the portal services; a contract lists some.
KNOWN_SERVICES = frozenset(
    {
        "ecall",
        "personal_assistant",
        "rtti",
        "teleservices",
        "remote_services",
        "concierge",
        "cardata",
        "navigation_updates",
        "smart_charging",
    }
)


class AccountKind(StrEnum):
    """The group login account (MINI ID, the manufacturer's) or a national customer account."""

    GROUP_LOGIN = "group_login"
    CUSTOMER = "customer"


class PaymentMethodKind(StrEnum):
    SEPA_DEBIT = "sepa_debit"
    CARD = "card"
    PAYPAL = "paypal"
    INVOICE = "invoice"


@dataclass(frozen=True)
class ContactDetails:
    """Contact data of a data subject: sensitive, stored only encrypted under the subject's key."""

    surname: str
    first_name: str
    street: str
    house_number: str
    postal_code: str
    city: str
    country: str
    email: str | None = None
    phone: str | None = None


CONTACT_FIELDS: tuple[str, ...] = (
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


@dataclass(frozen=True)
class EntityRef:
    """A record's id and whom it is about (its customer, its vehicle), without its content."""

    id: str
    subject_id: str | None = None
    vehicle_id: str | None = None


@dataclass(frozen=True)
class Customer:
    id: str
    contact: ContactDetails | None  # None: erased (the subject's key was destroyed)
    created_at: datetime
    updated_at: datetime

    @property
    def erased(self) -> bool:
        return self.contact is None

    @property
    def owner(self) -> str:
        """The key owner of this customer's encrypted data."""
        return subject_owner(self.id)


@dataclass(frozen=True)
class Account:
    """One account of a customer at one controller. Accounts are independent: deleting the group
    login account at the manufacturer leaves the national company's records, and vice versa (P1).
    """

    id: str
    customer_id: str
    controller: str
    kind: AccountKind
    login_id: str | None  # None: none given, or erased with the subject's key
    created_at: datetime


@dataclass(frozen=True)
class Fleet:
    id: str
    name: str
    country: str
    created_at: datetime


@dataclass(frozen=True)
class Vehicle:
    id: str
    vin: str
    model: str
    colour: str
    equipment: tuple[str, ...]
    end_of_life: date | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Contract:
    id: str
    customer_id: str
    vehicle_id: str
    start: datetime
    end: datetime | None
    services: tuple[str, ...]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class PaymentMethod:
    """How a transaction was paid; ``details`` (masked IBAN, card suffix) is sensitive.
    ``details`` is None once erased (the subject's key destroyed; the transaction itself is kept
    for its statutory retention)."""

    kind: PaymentMethodKind
    details: str | None


@dataclass(frozen=True)
class PaymentTransaction:
    id: str
    customer_id: str
    contract_id: str | None
    amount_minor: int  # in the currency's minor unit (cents)
    currency: str
    booked_at: datetime
    method: PaymentMethod
    created_at: datetime


def _text(problems: list[Problem], path: str, value: object, *, max_len: int) -> None:
    if not isinstance(value, str) or not value.strip():
        problems.append(Problem(path, "required", "must be a non-empty text"))
    elif len(value) > max_len:
        problems.append(Problem(path, "max_length", f"must be at most {max_len} characters"))


def raise_if(problems: Sequence[Problem]) -> None:
    if problems:
        raise InvalidInputError(list(problems))


def validate_vin(vin: object, path: str = "vin") -> list[Problem]:
    if not isinstance(vin, str) or not VIN_PATTERN.fullmatch(vin):
        return [
            Problem(path, "vin_format", "must be 17 characters: digits and A-Z without I, O, Q")
        ]
    return []


def validate_contact(contact: ContactDetails, path: str = "") -> list[Problem]:
    """Problems of a contact; ``path`` prefixes the field names (e.g. ``"contact."``)."""
    problems: list[Problem] = []
    for name, limit in (
        ("surname", 100),
        ("first_name", 100),
        ("street", 200),
        ("house_number", 20),
        ("postal_code", 16),
        ("city", 100),
    ):
        _text(problems, f"{path}{name}", getattr(contact, name), max_len=limit)
    if not isinstance(contact.country, str) or not COUNTRY_PATTERN.fullmatch(contact.country):
        problems.append(Problem(f"{path}country", "iso_country", "must be ISO 3166-1 alpha-2"))
    email = contact.email
    if email is not None and (
        not isinstance(email, str) or len(email) > 254 or not EMAIL_PATTERN.fullmatch(email)
    ):
        problems.append(Problem(f"{path}email", "email_format", "must be an e-mail address"))
    if contact.phone is not None:
        _text(problems, f"{path}phone", contact.phone, max_len=32)
    return problems


def validate_customer(customer: Customer) -> list[Problem]:
    if customer.contact is None:
        return [Problem("contact", "required", "a new customer needs contact data")]
    problems = validate_contact(customer.contact)
    aware_problem(problems, "created_at", customer.created_at)
    return problems


def validate_account(account: Account) -> list[Problem]:
    problems: list[Problem] = []
    _text(problems, "controller", account.controller, max_len=64)
    if not isinstance(account.kind, AccountKind):
        problems.append(Problem("kind", "enum", "must be group_login or customer"))
    if account.login_id is not None:
        _text(problems, "login_id", account.login_id, max_len=254)
    return problems


def validate_fleet(fleet: Fleet) -> list[Problem]:
    problems: list[Problem] = []
    _text(problems, "name", fleet.name, max_len=200)
    if not isinstance(fleet.country, str) or not COUNTRY_PATTERN.fullmatch(fleet.country):
        problems.append(Problem("country", "iso_country", "must be ISO 3166-1 alpha-2"))
    return problems


def validate_vehicle(vehicle: Vehicle) -> list[Problem]:
    problems = validate_vin(vehicle.vin)
    _text(problems, "model", vehicle.model, max_len=100)
    _text(problems, "colour", vehicle.colour, max_len=50)
    if not isinstance(vehicle.equipment, tuple) or len(vehicle.equipment) > 100:
        problems.append(Problem("equipment", "max_items", "must be at most 100 items"))
    else:
        for i, item in enumerate(vehicle.equipment):
            _text(problems, f"equipment.{i}", item, max_len=100)
    if vehicle.end_of_life is not None and (
        not isinstance(vehicle.end_of_life, date) or isinstance(vehicle.end_of_life, datetime)
    ):
        problems.append(Problem("end_of_life", "date", "must be a date"))
    return problems


def validate_contract(contract: Contract) -> list[Problem]:
    problems = validate_period(contract.start, contract.end)
    if not isinstance(contract.services, tuple) or not contract.services:
        problems.append(Problem("services", "min_items", "must list at least one service"))
    else:
        for i, service in enumerate(contract.services):
            if not isinstance(service, str) or service not in KNOWN_SERVICES:
                problems.append(
                    Problem(
                        f"services.{i}",
                        "known_service",
                        "must be one of " + ", ".join(sorted(KNOWN_SERVICES)),
                    )
                )
        if len(set(contract.services)) != len(contract.services):
            problems.append(Problem("services", "unique", "must not repeat a service"))
    return problems


def validate_payment(payment: PaymentTransaction) -> list[Problem]:
    problems: list[Problem] = []
    amount = payment.amount_minor
    if not isinstance(amount, int) or isinstance(amount, bool) or abs(amount) > 10**12:
        problems.append(Problem("amount", "range", "must be a whole number of cents within 10^12"))
    if not isinstance(payment.currency, str) or not CURRENCY_PATTERN.fullmatch(payment.currency):
        problems.append(Problem("currency", "iso_currency", "must be an ISO 4217 code"))
    aware_problem(problems, "booked_at", payment.booked_at)
    if not isinstance(payment.method.kind, PaymentMethodKind):
        problems.append(Problem("method.kind", "enum", "must be a known payment method"))
    _text(problems, "method.details", payment.method.details, max_len=64)  # not erased yet
    return problems
