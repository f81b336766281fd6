"""Schemas of CarData (SPEC C2): the device authorisation and token answers as RFC 8628 and
CarData clients read them, the person's client ids, and the customer API v1's shapes with the
published field names (``vin``, ``mappedSince``, ``technicalDescriptors``, ``telematicData``,
``exveErrorId`` ...)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from carprivacy.domain.cardata import CLIENT_SCOPES, CarDataClient, Container
from carprivacy.entrypoints.api.schemas.text import Line
from carprivacy.services.cardata.authorisation import (
    DeviceAuthorisation,
    GrantAnswered,
    TokenSet,
)

Scope = Literal["cardata:api:read", "cardata:streaming:read"]
assert set(Scope.__args__) == CLIENT_SCOPES  # type: ignore[attr-defined]


class OAuthError(BaseModel):
    """An OAuth error answer (RFC 6749 section 5.2; RFC 8628 section 3.5)."""

    error: str
    error_description: str


class DeviceCodeOut(BaseModel):
    """The device authorisation response (RFC 8628 section 3.2)."""

    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: int
    interval: int

    @classmethod
    def of(cls, d: DeviceAuthorisation) -> DeviceCodeOut:
        return cls(**vars(d))


class TokenSetOut(BaseModel):
    """The token response: RFC 6749's fields, the OpenID id token and the account id."""

    access_token: str
    refresh_token: str
    id_token: str
    token_type: str
    expires_in: int
    scope: str
    gcid: str

    @classmethod
    def of(cls, t: TokenSet) -> TokenSetOut:
        return cls(**vars(t))


class ClientIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Line = Field(min_length=1, max_length=100, description="Your name for the client.")
    scopes: list[Scope] = Field(min_length=1, max_length=2)


class ClientOut(BaseModel):
    client_id: str
    name: str
    scopes: list[str]
    created_at: datetime

    @classmethod
    def of(cls, c: CarDataClient) -> ClientOut:
        return cls(client_id=c.id, name=c.name, scopes=sorted(c.scopes), created_at=c.created_at)


class DeviceAnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_code: str = Field(min_length=1, max_length=20, description="As shown, e.g. BCDF-GHJK.")
    approve: bool = Field(True, description="false denies the request.")


class DeviceAnswerOut(BaseModel):
    client_id: str
    client_name: str
    scopes: list[str]
    status: Literal["approved", "denied"]

    @classmethod
    def of(cls, g: GrantAnswered) -> DeviceAnswerOut:
        return cls(
            client_id=g.client_id,
            client_name=g.client_name,
            scopes=sorted(g.scopes),
            status=g.status.value,
        )


# -- the customer API v1 ------------------------------------------------------------------------


class CustomerErrorResponse(BaseModel):
    """The customer API's error body, as published."""

    exveErrorId: str
    exveErrorMsg: str
    exveErrorRef: str
    exveNote: str | None = None


class VehicleMappingDto(BaseModel):
    vin: str
    mappedSince: str
    mappingType: Literal["PRIMARY", "SECONDARY"]


class VehicleDto(BaseModel):
    vin: str
    brand: str | None = None
    modelName: str | None = None
    colourCode: str | None = None
    fullSAList: str | None = None
    isTelematicsCapable: bool | None = None


class CreateContainerRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=1000)
    purpose: str = Field(max_length=1000)
    technicalDescriptors: list[str] = Field(max_length=1000)


class ContainerDto(BaseModel):
    containerId: str
    name: str
    purpose: str
    state: Literal["ACTIVE", "DELETED"]
    created: datetime

    @classmethod
    def of(cls, c: Container) -> ContainerDto:
        return cls(
            containerId=c.id,
            name=c.name,
            purpose=c.purpose,
            state="DELETED" if c.deleted else "ACTIVE",
            created=c.created_at,
        )


class ContainerDetailsDto(ContainerDto):
    technicalDescriptors: list[str]

    @classmethod
    def of(cls, c: Container) -> ContainerDetailsDto:
        return cls(**ContainerDto.of(c).model_dump(), technicalDescriptors=list(c.descriptors))


class ContainerListDto(BaseModel):
    containers: list[ContainerDto]


class TelematicDataEntryDto(BaseModel):
    value: str | None
    unit: str | None
    timestamp: str | None


class ExVeTelematicDataResponseDto(BaseModel):
    telematicData: dict[str, TelematicDataEntryDto]
    missingDescriptors: list[str] = Field(
        default_factory=list,
        description="Descriptors of the container with no value stored for the vehicle (yet).",
    )
