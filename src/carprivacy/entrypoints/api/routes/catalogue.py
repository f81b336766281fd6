"""The catalogue (SPEC C2; Data Act Art. 3(2), 4(1)): which descriptors carprivacy provides,
with units and descriptions, never a value. ``GET /v1/catalogue`` for everyone (the metadata
needed to read the data, before any grant); ``POST /v1/cardata/eligibility`` for a third
party's eligibility check of one vehicle (the VIN in the body, never in a URL), through the
gate under the policy's catalogue purpose."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from carprivacy.domain.access import Caller
from carprivacy.entrypoints.api.auth import get_caller
from carprivacy.entrypoints.api.deps import get_sharing
from carprivacy.entrypoints.api.errors import ErrorAnswer
from carprivacy.entrypoints.api.schemas.shares import CatalogueOut, DescriptorOut, EligibilityIn
from carprivacy.services.cardata.sharing import Sharing

router = APIRouter(tags=["catalogue"])


@router.get("/v1/catalogue", response_model=CatalogueOut)
def catalogue(sharing: Sharing = Depends(get_sharing)) -> CatalogueOut:
    """Every descriptor: its name (COVESA VSS), unit, datatype, category and description."""
    return CatalogueOut(descriptors=[DescriptorOut.of(d) for d in sharing.catalogue.descriptors()])


@router.post(
    "/v1/cardata/eligibility",
    response_model=CatalogueOut,
    responses={404: {"model": ErrorAnswer, "description": "no vehicle has this VIN"}},
)
def eligibility(
    body: EligibilityIn,
    caller: Caller = Depends(get_caller),
    sharing: Sharing = Depends(get_sharing),
) -> CatalogueOut:
    """The descriptors one vehicle can provide, for a third party's eligibility check: no
    value of the vehicle (not its VIN, model or colour)."""
    found = sharing.catalogue.for_vehicle(caller, body.vin, "POST /v1/cardata/eligibility")
    return CatalogueOut(descriptors=[DescriptorOut.of(d) for d in found])
