"""The CarData customer API v1 at the published paths (SPEC C2, U1-U3): ``/customers/...``
with the header ``x-version: v1``, a CarData access token (``cardata:api:read``), the published
shapes, and errors in the published body (``exveErrorId``, ``exveErrorMsg``, ``exveErrorRef``,
``exveNote``; shaped in ``entrypoints/api/errors.py``). Every call counts against the client's
and the account's quota; every answer tells how many calls remain (``X-RateLimit-*``). The
reads are the person's own data through the gate (``services/cardata/customer_api.py``)."""

from __future__ import annotations

from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response, status
from fastapi.security import HTTPAuthorizationCredentials

from carprivacy.domain.errors import AuthenticationError, InvalidInputError, Problem
from carprivacy.entrypoints.api.deps import bearer, get_cardata, get_cardata_api, get_cardata_quota
from carprivacy.entrypoints.api.schemas.cardata import (
    ContainerDetailsDto,
    ContainerDto,
    ContainerListDto,
    CreateContainerRequest,
    ExVeTelematicDataResponseDto,
    VehicleDto,
    VehicleMappingDto,
)
from carprivacy.services.cardata.authorisation import CarDataAuthorisation, CarDataCaller
from carprivacy.services.cardata.customer_api import CustomerApi
from carprivacy.services.cardata.quota import CallQuota

router = APIRouter(prefix="/customers", tags=["CarData customer API v1"])
VERSION = "v1"


def cardata_reader(
    request: Request,
    response: Response,
    x_version: str | None = Header(
        None, alias="x-version", max_length=16, description="The API version: v1.", examples=["v1"]
    ),
    creds: HTTPAuthorizationCredentials | None = Depends(bearer),
    cardata: CarDataAuthorisation = Depends(get_cardata),
    quota: CallQuota = Depends(get_cardata_quota),
) -> CarDataCaller:
    """The reader of a CarData call: the CarData token (first: an anonymous caller learns
    nothing else), the version header (required, documented as such), one call counted (over
    the quota: 429 with Retry-After); the answer carries the calls remaining."""
    if creds is None or not creds.credentials:
        raise AuthenticationError("a CarData access token is required")
    reader = cardata.authenticate(creds.credentials)
    if x_version != VERSION:
        raise InvalidInputError([Problem("x-version", "x_version", "the API version is v1")])
    state = quota.charge(reader.client_id, reader.gcid)
    now = quota.clock()
    response.headers["X-RateLimit-Limit"] = str(state.limit)
    response.headers["X-RateLimit-Remaining"] = str(state.remaining)
    response.headers["X-RateLimit-Reset"] = str(state.retry_after(now))
    return reader


def _action(request: Request) -> str:
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', None) or request.url.path}"[:120]


@router.get("/vehicles/mappings", response_model=list[VehicleMappingDto])
def get_mappings(
    request: Request,
    reader: CarDataCaller = Depends(cardata_reader),
    api: CustomerApi = Depends(get_cardata_api),
) -> list[dict[str, object]]:
    """The vehicles mapped to the account: PRIMARY as owner, SECONDARY as driver."""
    return api.mappings(reader, _action(request))


@router.get(
    "/vehicles/{vin}/basicData", response_model=VehicleDto, response_model_exclude_none=True
)
def get_basic_data(
    vin: str,
    request: Request,
    reader: CarDataCaller = Depends(cardata_reader),
    api: CustomerApi = Depends(get_cardata_api),
) -> dict[str, object]:
    """A mapped vehicle's basic data."""
    return api.basic_data(reader, _action(request), vin)


@router.get("/vehicles/{vin}/telematicData", response_model=ExVeTelematicDataResponseDto)
def get_telematic_data(
    vin: str,
    request: Request,
    container_id: str = Query(alias="containerId", max_length=64),
    reader: CarDataCaller = Depends(cardata_reader),
    api: CustomerApi = Depends(get_cardata_api),
) -> ExVeTelematicDataResponseDto:
    """The newest value of each descriptor of the container, for a mapped vehicle."""
    data = api.telematic_data(reader, _action(request), vin, container_id)
    return ExVeTelematicDataResponseDto.model_validate(
        {"telematicData": data.values, "missingDescriptors": list(data.missing)}
    )


@router.get("/containers", response_model=ContainerListDto)
def list_containers(
    request: Request,
    reader: CarDataCaller = Depends(cardata_reader),
    api: CustomerApi = Depends(get_cardata_api),
) -> ContainerListDto:
    """The account's containers."""
    found = api.list_containers(reader, _action(request))
    return ContainerListDto(containers=[ContainerDto.of(c) for c in found])


@router.post("/containers", response_model=ContainerDetailsDto, status_code=status.HTTP_201_CREATED)
def create_container(
    request: Request,
    body: CreateContainerRequest = Body(...),
    reader: CarDataCaller = Depends(cardata_reader),
    api: CustomerApi = Depends(get_cardata_api),
) -> ContainerDetailsDto:
    """A container: a name, a purpose and the technical descriptors (catalogue signal names)."""
    made = api.create_container(
        reader, _action(request), body.name, body.purpose, body.technicalDescriptors
    )
    return ContainerDetailsDto.of(made)


@router.get("/containers/{containerId}", response_model=ContainerDetailsDto)
def get_container(
    containerId: str,  # noqa: N803 - the published parameter name
    request: Request,
    reader: CarDataCaller = Depends(cardata_reader),
    api: CustomerApi = Depends(get_cardata_api),
) -> ContainerDetailsDto:
    """One container with its descriptors."""
    return ContainerDetailsDto.of(api.get_container(reader, _action(request), containerId))


@router.delete("/containers/{containerId}", status_code=status.HTTP_204_NO_CONTENT)
def delete_container(
    containerId: str,  # noqa: N803 - the published parameter name
    request: Request,
    reader: CarDataCaller = Depends(cardata_reader),
    api: CustomerApi = Depends(get_cardata_api),
) -> Response:
    """Delete a container (its state becomes DELETED)."""
    api.delete_container(reader, _action(request), containerId)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
