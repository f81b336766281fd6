"""Request and response schemas of the master data API (SPEC I4). Constraints here give 422 answers
that name each bad field; the domain validates again (it is the rule, this is the first filter)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from carprivacy.domain.master import (
    Account,
    AccountKind,
    Contract,
    Customer,
    Fleet,
    PaymentMethodKind,
    PaymentTransaction,
    UsageKind,
    Vehicle,
    VehicleUsage,
)
from carprivacy.entrypoints.api.input_formats import COUNTRY, CURRENCY, EMAIL, VIN

T = TypeVar("T")


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
Id = Annotated[str, Field(min_length=1, max_length=36)]
Name = Annotated[str, Field(min_length=1, max_length=100)]
# patterns with their rule names and messages for 422 answers: entrypoints/api/input_formats.py
Country = Annotated[str, Field(pattern=COUNTRY.pattern, description="ISO 3166-1 alpha-2")]
Email = Annotated[str, Field(max_length=254, pattern=EMAIL.pattern, description="e-mail address")]
Vin = Annotated[
    str,
    Field(pattern=VIN.pattern, description="17 characters, no I, O or Q"),
]
Service = Annotated[str, Field(min_length=2, max_length=40)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CustomerIn(Input):
    surname: Name
    first_name: Name
    street: Annotated[str, Field(min_length=1, max_length=200)]
    house_number: Annotated[str, Field(min_length=1, max_length=20)]
    postal_code: Annotated[str, Field(min_length=1, max_length=16)]
    city: Name
    country: Country
    email: Email | None = None
    phone: Annotated[str, Field(min_length=1, max_length=32)] | None = None


class CustomerPatch(Input):
    surname: Name | None = None
    first_name: Name | None = None
    street: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    house_number: Annotated[str, Field(min_length=1, max_length=20)] | None = None
    postal_code: Annotated[str, Field(min_length=1, max_length=16)] | None = None
    city: Name | None = None
    country: Country | None = None
    email: Email | None = None
    phone: Annotated[str, Field(min_length=1, max_length=32)] | None = None


class CustomerOut(BaseModel):
    """A customer; once erased (crypto-shredding) every contact field is null."""

    id: str
    erased: bool = False
    surname: str | None = None
    first_name: str | None = None
    street: str | None = None
    house_number: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: str | None = None
    email: str | None = None
    phone: str | None = None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, c: Customer) -> CustomerOut:
        contact = vars(c.contact) if c.contact is not None else {}
        return cls(
            id=c.id,
            erased=c.erased,
            created_at=c.created_at,
            updated_at=c.updated_at,
            **contact,
        )


class AccountIn(Input):
    controller: Annotated[str, Field(min_length=1, max_length=64)]
    kind: AccountKind
    login_id: Annotated[str, Field(min_length=1, max_length=254)] | None = None


class AccountOut(BaseModel):
    id: str
    customer_id: str
    controller: str
    kind: AccountKind
    login_id: str | None
    created_at: datetime

    @classmethod
    def of(cls, a: Account) -> AccountOut:
        return cls(**vars(a))


class VehicleIn(Input):
    vin: Vin
    model: Name
    colour: Annotated[str, Field(min_length=1, max_length=50)]
    equipment: Annotated[list[Name], Field(max_length=100)] = []
    end_of_life: date | None = None


class VehiclePatch(Input):
    model: Name | None = None
    colour: Annotated[str, Field(min_length=1, max_length=50)] | None = None
    equipment: Annotated[list[Name], Field(max_length=100)] | None = None
    end_of_life: date | None = None


class VehicleOut(BaseModel):
    id: str
    vin: str
    model: str
    colour: str
    equipment: list[str]
    end_of_life: date | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, v: Vehicle) -> VehicleOut:
        return cls(**{**vars(v), "equipment": list(v.equipment)})


class UsageIn(Input):
    kind: UsageKind
    customer_id: Id | None = None
    fleet_id: Id | None = None
    start: UtcDatetime
    end: UtcDatetime | None = None


class UsageOut(BaseModel):
    id: str
    vehicle_id: str
    kind: UsageKind
    customer_id: str | None
    fleet_id: str | None
    start: datetime
    end: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, u: VehicleUsage) -> UsageOut:
        return cls(**vars(u))


class AttributionOut(BaseModel):
    vehicle_id: str
    at: datetime
    customer_id: str | None
    fleet_id: str | None
    basis: UsageKind | None


class FleetIn(Input):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    country: Country


class FleetOut(BaseModel):
    id: str
    name: str
    country: str
    created_at: datetime

    @classmethod
    def of(cls, f: Fleet) -> FleetOut:
        return cls(**vars(f))


class ContractIn(Input):
    customer_id: Id
    vehicle_id: Id
    start: UtcDatetime
    end: UtcDatetime | None = None
    services: Annotated[list[Service], Field(min_length=1, max_length=20)]


class ContractPatch(Input):
    end: UtcDatetime | None = None
    services: Annotated[list[Service], Field(min_length=1, max_length=20)] | None = None


class ContractOut(BaseModel):
    id: str
    customer_id: str
    vehicle_id: str
    start: datetime
    end: datetime | None
    services: list[str]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, c: Contract) -> ContractOut:
        return cls(**{**vars(c), "services": list(c.services)})


class PaymentMethodIn(Input):
    kind: PaymentMethodKind
    details: Annotated[
        str, Field(min_length=1, max_length=64, description="masked: 'NL**INGB****1234'")
    ]


class PaymentIn(Input):
    customer_id: Id
    contract_id: Id | None = None
    amount: Annotated[Decimal, Field(max_digits=14, decimal_places=2)]
    currency: Annotated[str, Field(pattern=CURRENCY.pattern, description="ISO 4217")]
    booked_at: UtcDatetime
    method: PaymentMethodIn


class PaymentMethodOut(BaseModel):
    kind: PaymentMethodKind
    details: str | None  # null once erased


class PaymentOut(BaseModel):
    id: str
    customer_id: str
    contract_id: str | None
    amount: Decimal
    currency: str
    booked_at: datetime
    method: PaymentMethodOut
    created_at: datetime

    @classmethod
    def of(cls, p: PaymentTransaction) -> PaymentOut:
        return cls(
            id=p.id,
            customer_id=p.customer_id,
            contract_id=p.contract_id,
            amount=Decimal(p.amount_minor).scaleb(-2),
            currency=p.currency,
            booked_at=p.booked_at,
            method=PaymentMethodOut(kind=p.method.kind, details=p.method.details),
            created_at=p.created_at,
        )


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    total: int
    offset: int
    limit: int
