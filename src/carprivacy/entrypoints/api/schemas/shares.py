"""Schemas of CarData sharing (SPEC C2; Data Act Art. 4-6): third parties, their clients'
share requests, shares with their state, terms and history, and the catalogue."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from carprivacy.domain.shares import ShareEvent, ThirdParty
from carprivacy.entrypoints.api.schemas.cardata import Scope
from carprivacy.entrypoints.api.schemas.text import Line
from carprivacy.services.cardata.eligibility import Descriptor
from carprivacy.services.cardata.share_approvals import PendingShare
from carprivacy.services.cardata.shares import ShareView

Name = Line  # one-line texts (their rules: schemas/text.py)


class ThirdPartyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(max_length=64, description="The organisation id its callers carry.")
    name: Name = Field(min_length=1, max_length=100)
    country: str = Field(max_length=2, description="ISO 3166-1 alpha-2, e.g. NL.")
    transfer_mechanism: Literal["eea", "adequacy", "scc", "none"]
    undertaking: str = Field(max_length=64, description="The group it belongs to (its id).")
    member_of: str = Field("cardata_third_parties", max_length=64)


class ThirdPartyOut(BaseModel):
    id: str
    name: str
    member_of: str
    country: str
    transfer_mechanism: str
    undertaking: str
    registered_at: datetime

    @classmethod
    def of(cls, p: ThirdParty) -> ThirdPartyOut:
        return cls(
            id=p.id,
            name=p.name,
            member_of=p.member_of,
            country=p.country,
            transfer_mechanism=p.transfer_mechanism.value,
            undertaking=p.undertaking,
            registered_at=p.registered_at,
        )


class PartyClientIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    owner_id: str = Field(max_length=64, description="The third party's partner caller.")
    name: Name = Field(min_length=1, max_length=100)
    purpose: str = Field("cardata_sharing", max_length=64)
    agreed_purpose: Name = Field(min_length=1, max_length=100)
    descriptors: list[Name] = Field(min_length=1, max_length=200)
    days: int = Field(ge=1, le=1830)
    scopes: list[Scope] = Field(["cardata:api:read"], min_length=1, max_length=2)


class PartyClientOut(BaseModel):
    client_id: str
    party: str
    purpose: str
    agreed_purpose: str
    descriptors: list[str]
    days: int
    scopes: list[str]


class ShareIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    vehicle_id: str = Field(max_length=64)
    party: str = Field(max_length=64, description="The registered third party's id.")
    purpose: str = Field("cardata_sharing", max_length=64)
    agreed_purpose: Name = Field(min_length=1, max_length=100)
    descriptors: list[Name] = Field([], max_length=200)
    categories: list[Name] = Field([], max_length=50)
    valid_from: datetime | None = None
    valid_until: datetime | None = None


class TermsOut(BaseModel):
    nl: str
    en: str
    purpose_bound: bool = Field(description="Only for the agreed purpose (Data Act Art. 6(1)).")
    onward_transfer: bool = Field(description="May pass it on: always false (Art. 6(2)(c)).")


class ShareEventOut(BaseModel):
    seq: int
    at: datetime
    state: str
    actor: str
    reason: str

    @classmethod
    def of(cls, e: ShareEvent) -> ShareEventOut:
        return cls(seq=e.seq, at=e.at, state=e.state.value, actor=e.actor, reason=e.reason.value)


class ShareOut(BaseModel):
    share_id: str
    vehicle_id: str
    party: str
    party_name: str
    purpose: str
    agreed_purpose: str
    descriptors: list[str]
    categories: list[str]
    valid_from: datetime
    valid_until: datetime
    state: Literal["pending", "active", "revoked", "expired"]
    via: str
    created_at: datetime
    revoked_at: datetime | None
    terms: TermsOut
    history: list[ShareEventOut] = []

    @classmethod
    def of(cls, v: ShareView, history: list[ShareEvent] | None = None) -> ShareOut:
        s = v.share
        return cls(
            share_id=s.id,
            vehicle_id=s.vehicle_id,
            party=s.party,
            party_name=v.party_name,
            purpose=s.purpose,
            agreed_purpose=s.agreed_purpose,
            descriptors=list(s.descriptors),
            categories=list(s.categories),
            valid_from=s.valid_from,
            valid_until=s.valid_until,
            state=v.state.value,
            via=s.via.value,
            created_at=s.created_at,
            revoked_at=s.revoked_at,
            terms=TermsOut(
                nl=v.terms.nl,
                en=v.terms.en,
                purpose_bound=s.purpose_bound,
                onward_transfer=s.onward_transfer,
            ),
            history=[ShareEventOut.of(e) for e in history or ()],
        )


class ShareRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_code: Name = Field(min_length=1, max_length=16)


class ShareRequestOut(BaseModel):
    party: str
    party_name: str
    purpose: str
    agreed_purpose: str
    descriptors: list[str]
    days: int
    terms: TermsOut

    @classmethod
    def of(cls, p: PendingShare) -> ShareRequestOut:
        r = p.request
        return cls(
            party=r.party,
            party_name=p.party_name,
            purpose=r.purpose,
            agreed_purpose=r.agreed_purpose,
            descriptors=list(r.descriptors),
            days=r.days,
            terms=TermsOut(nl=p.terms.nl, en=p.terms.en, purpose_bound=True, onward_transfer=False),
        )


class ShareApprovalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_code: Name = Field(min_length=1, max_length=16)
    vehicle_id: str | None = Field(None, max_length=64)
    approve: bool = True


class ShareApprovalOut(BaseModel):
    status: Literal["approved", "denied"]
    share: ShareOut | None = None


class DescriptorOut(BaseModel):
    name: str
    unit: str | None
    datatype: str
    category: str
    description: dict[str, str]

    @classmethod
    def of(cls, d: Descriptor) -> DescriptorOut:
        return cls.model_validate(d.as_dict())


class CatalogueOut(BaseModel):
    descriptors: list[DescriptorOut]


class EligibilityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    vin: str = Field(min_length=1, max_length=17)
