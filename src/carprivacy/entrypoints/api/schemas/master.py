"""Request and response schemas of the master data API (SPEC I4). Constraints here give 422 answers
that name each bad field; the domain validates again (it is the rule, this is the first filter)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, Field

from carprivacy.domain.master import (
    AccountKind,
    Customer,
    PaymentMethodKind,
    PaymentTransaction,
    UsageKind,
)
from carprivacy.entrypoints.api.input_formats import COUNTRY, CURRENCY, EMAIL, VIN
from carprivacy.entrypoints.api.schemas.resource import REQUIRED, Attr, Input, Resource, attr
from carprivacy.entrypoints.api.schemas.text import Line
from carprivacy.services.master import views

T = TypeVar("T")


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
Id = Annotated[Line, Field(min_length=1, max_length=36)]
Name = Annotated[Line, Field(min_length=1, max_length=100)]
# patterns with their rule names and messages for 422 answers: entrypoints/api/input_formats.py
Country = Annotated[str, Field(pattern=COUNTRY.pattern, description="ISO 3166-1 alpha-2")]
Email = Annotated[Line, Field(max_length=254, pattern=EMAIL.pattern, description="e-mail address")]
Vin = Annotated[
    str,
    Field(pattern=VIN.pattern, description="17 characters, no I, O or Q"),
]
Service = Annotated[Line, Field(min_length=2, max_length=40)]
Services = Annotated[list[Service], Field(min_length=1, max_length=20)]
Equipment = Annotated[list[Name], Field(max_length=100)]
Amount = Annotated[Decimal, Field(max_digits=14, decimal_places=2)]
Currency = Annotated[str, Field(pattern=CURRENCY.pattern, description="ISO 4217")]


def text(max_length: int) -> object:
    """A non-empty one-line text of at most ``max_length`` characters."""
    return Annotated[Line, Field(min_length=1, max_length=max_length)]


class PaymentMethodIn(Input):
    kind: PaymentMethodKind
    details: Annotated[
        Line, Field(min_length=1, max_length=64, description="masked: 'NL**INGB****1234'")
    ]


class PaymentMethodOut(BaseModel):
    kind: PaymentMethodKind
    details: str | None  # null once erased


# --- the descriptions: each field once (answer type, request type, create and patch rules) ---

ID = attr(str)
CREATED_AT = attr(datetime)
UPDATED_AT = attr(datetime)


def _contact(write: object, *, optional: bool = False) -> Attr:
    """A contact field: null once the customer is erased (crypto-shredding)."""
    default = None if optional else REQUIRED
    return attr(str | None, write, default=default, patch=True, out_default=None)


def _customer(c: Customer) -> dict[str, object]:
    return {**vars(c), **(vars(c.contact) if c.contact is not None else {}), "erased": c.erased}


CUSTOMER = Resource(
    "Customer",
    views.CUSTOMER,
    {
        "id": ID,
        "erased": attr(bool, out_default=False),
        "surname": _contact(Name),
        "first_name": _contact(Name),
        "street": _contact(text(200)),
        "house_number": _contact(text(20)),
        "postal_code": _contact(text(16)),
        "city": _contact(Name),
        "country": _contact(Country),
        "email": _contact(Email, optional=True),
        "phone": _contact(text(32), optional=True),
        "created_at": CREATED_AT,
        "updated_at": UPDATED_AT,
    },
    doc="A customer; once erased (crypto-shredding) every contact field is null.",
    source=_customer,
)

ACCOUNT = Resource(
    "Account",
    views.ACCOUNT,
    {
        "id": ID,
        "customer_id": attr(str),  # the customer of the path
        "controller": attr(str, text(64)),
        "kind": attr(AccountKind, AccountKind),
        "login_id": attr(str | None, text(254), default=None),
        "created_at": CREATED_AT,
    },
)

VEHICLE = Resource(
    "Vehicle",
    views.VEHICLE_RECORD,
    {
        "id": ID,
        "vin": attr(str, Vin),
        "model": attr(str, Name, patch=True),
        "colour": attr(str, text(50), patch=True),
        "equipment": attr(list[str], Equipment, default=[], patch=True),
        "end_of_life": attr(date | None, date, default=None, patch=True),
        "created_at": CREATED_AT,
        "updated_at": UPDATED_AT,
    },
)

USAGE = Resource(
    "Usage",
    views.USAGE,
    {
        "id": ID,
        "vehicle_id": attr(str),  # the vehicle of the path
        "kind": attr(UsageKind, UsageKind),
        "customer_id": attr(str | None, Id, default=None),
        "fleet_id": attr(str | None, Id, default=None),
        "start": attr(datetime, UtcDatetime),
        "end": attr(datetime | None, UtcDatetime, default=None),
        "created_at": CREATED_AT,
    },
)

ATTRIBUTION = Resource(  # whose data a vehicle produces at a moment: read only
    "Attribution",
    views.ATTRIBUTION,
    {
        "vehicle_id": attr(str),
        "at": attr(datetime),
        "customer_id": attr(str | None),
        "fleet_id": attr(str | None),
        "basis": attr(UsageKind | None),
    },
    echo=False,
)

FLEET = Resource(
    "Fleet",
    views.FLEET,
    {
        "id": ID,
        "name": attr(str, text(200)),
        "country": attr(str, Country),
        "created_at": CREATED_AT,
    },
    echo=False,  # a fleet is the business's data, not personal: its create answers it whole
)

CONTRACT = Resource(
    "Contract",
    views.CONTRACT,
    {
        "id": ID,
        "customer_id": attr(str, Id),
        "vehicle_id": attr(str, Id),
        "start": attr(datetime, UtcDatetime),
        "end": attr(datetime | None, UtcDatetime, default=None, patch=True),
        "services": attr(list[str], Services, patch=True),
        "created_at": CREATED_AT,
        "updated_at": UPDATED_AT,
    },
)


def _payment(p: PaymentTransaction) -> dict[str, object]:
    """Amounts are stored in minor units (cents) and answered as exact decimals."""
    return {**vars(p), "amount": Decimal(p.amount_minor).scaleb(-2)}


PAYMENT = Resource(
    "Payment",
    views.PAYMENT,
    {
        "id": ID,
        "customer_id": attr(str, Id),
        "contract_id": attr(str | None, Id, default=None),
        "amount": attr(Decimal, Amount),
        "currency": attr(str, Currency),
        "booked_at": attr(datetime, UtcDatetime),
        "method": attr(PaymentMethodOut, PaymentMethodIn),
        "created_at": CREATED_AT,
    },
    source=_payment,
)

RESOURCES = (CUSTOMER, ACCOUNT, VEHICLE, USAGE, ATTRIBUTION, FLEET, CONTRACT, PAYMENT)


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    total: int
    offset: int
    limit: int
