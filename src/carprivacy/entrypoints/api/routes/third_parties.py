"""``/v1/third-parties``: organisations a customer may share CarData with, registered by an
administrator (SPEC C2, P5; Data Act Art. 5), and their CarData clients with the share each
asks a customer for. A DMA gatekeeper is refused (Art. 5(3) Data Act)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, status

from carprivacy.domain.access import Caller, Role
from carprivacy.entrypoints.api.auth import require_role
from carprivacy.entrypoints.api.deps import get_sharing
from carprivacy.entrypoints.api.errors import ErrorAnswer
from carprivacy.entrypoints.api.schemas.shares import (
    PartyClientIn,
    PartyClientOut,
    ThirdPartyIn,
    ThirdPartyOut,
)
from carprivacy.services.cardata.sharing import Sharing

router = APIRouter(prefix="/v1/third-parties", tags=["CarData third parties"])
admin = require_role(Role.ADMINISTRATOR)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ThirdPartyOut)
def register_third_party(
    body: ThirdPartyIn, caller: Caller = Depends(admin), sharing: Sharing = Depends(get_sharing)
) -> ThirdPartyOut:
    """Register a third party: from then on a recipient of the policy under its own id."""
    party = sharing.registry.register(
        caller,
        body.id,
        body.name,
        body.country,
        body.transfer_mechanism,
        body.undertaking,
        body.member_of,
    )
    return ThirdPartyOut.of(party)


@router.get("", response_model=list[ThirdPartyOut])
def list_third_parties(
    _: Caller = Depends(admin), sharing: Sharing = Depends(get_sharing)
) -> list[ThirdPartyOut]:
    return [ThirdPartyOut.of(p) for p in sharing.registry.parties()]


@router.post(
    "/{party_id}/clients",
    status_code=status.HTTP_201_CREATED,
    response_model=PartyClientOut,
    responses={404: {"model": ErrorAnswer, "description": "no third party has this id"}},
)
def add_party_client(
    party_id: str,
    body: PartyClientIn,
    caller: Caller = Depends(admin),
    sharing: Sharing = Depends(get_sharing),
) -> PartyClientOut:
    """A CarData client id of the third party: its device code asks a customer for a share of
    these descriptors, for this purpose, during these days."""
    client, request = sharing.registry.add_client(
        caller,
        party_id,
        body.owner_id,
        body.name,
        body.purpose,
        body.agreed_purpose,
        list(body.descriptors),
        body.days,
        body.scopes,
    )
    return PartyClientOut(
        client_id=client.id,
        party=request.party,
        purpose=request.purpose,
        agreed_purpose=request.agreed_purpose,
        descriptors=list(request.descriptors),
        days=request.days,
        scopes=sorted(client.scopes),
    )
