"""The standard routes of a master-data Resource (``schemas/resource.py``; SPEC I4): create,
read one, read a page, read the records of a named owner, patch.

Every read goes through the gate (``gate.one`` / ``gate.of`` / ``gate.page``) with the resource's
View and a loader of the records; every write answers ``release.echo`` (or, for a resource that is
not personal data, its whole answer). A route here only turns a request into a call and an answer
into bytes: what a record is about comes from its view (``services/master/views.record``), what
the caller named from the path (:class:`Named`), the decision from the gate.

FastAPI reads an endpoint's parameters from its signature; the builders give each endpoint the
signature a hand-written route would have (the path parameter's name, the request model, the
services), so the OpenAPI document names them as before.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, status
from fastapi.responses import Response
from pydantic import BaseModel

from carprivacy.entrypoints.api.deps import get_master
from carprivacy.entrypoints.api.release import echo, get_gate, get_reading, respond
from carprivacy.entrypoints.api.schemas import query
from carprivacy.entrypoints.api.schemas.master import PageOut
from carprivacy.entrypoints.api.schemas.resource import Resource
from carprivacy.services.access.gate import Gate, Reading, Record
from carprivacy.services.access.views import VEHICLE
from carprivacy.services.master.ports import MasterDataUnitOfWork
from carprivacy.services.master.service import MAX_PAGE, MasterDataService
from carprivacy.services.master.views import record

Offset = query.offset()
Limit = query.limit(50, MAX_PAGE)
KW = inspect.Parameter.KEYWORD_ONLY


@dataclass(frozen=True)
class Named:
    """A path parameter naming one thing (``kind``: what a pseudonym of it names)."""

    name: str  # "customer_id"
    kind: str  # "customer"

    def claims(self, value: str) -> dict[str, str]:
        """What the caller named, for the gate to screen before anything is read: a customer
        (the data subject) or a vehicle; other things are decided on the record they load."""
        if self.kind == "customer":
            return {"subject_id": value}
        if self.kind == VEHICLE:
            return {"vehicle_id": value}
        return {}

    def parameter(self) -> inspect.Parameter:
        return inspect.Parameter(self.name, KW, annotation=str)


SERVICE = inspect.Parameter("svc", KW, default=Depends(get_master), annotation=MasterDataService)
GATE = inspect.Parameter("gate", KW, default=Depends(get_gate), annotation=Gate[Any])
READING = inspect.Parameter("reading", KW, default=Depends(get_reading), annotation=Reading)
OFFSET = inspect.Parameter("offset", KW, default=Offset, annotation=int)
LIMIT = inspect.Parameter("limit", KW, default=Limit, annotation=int)


def signed(
    endpoint: Callable[..., Any], name: str, doc: str | None, *params: inspect.Parameter
) -> Callable[..., Any]:
    """``endpoint`` under ``name`` with the signature FastAPI reads."""
    endpoint.__signature__ = inspect.Signature(list(params))  # type: ignore[attr-defined]
    endpoint.__name__ = name
    endpoint.__doc__ = doc
    return endpoint


def released(resource: Resource, obj: object, subject_id: str | None = None) -> Record:
    """A domain object as the gate decides and releases it: its Out, whom it is about."""
    return record(resource.view, resource.out(obj).model_dump(), subject_id)


def _get(router: APIRouter, path: str, endpoint: Callable[..., Any], answer: Any) -> None:
    router.add_api_route(path, endpoint, methods=["GET"], response_model=answer)


def _body(model: type[BaseModel]) -> inspect.Parameter:
    return inspect.Parameter("body", KW, annotation=model)


def create(
    router: APIRouter,
    path: str,
    resource: Resource,
    name: str,
    write: Callable[..., object],
    *,
    under: Named | None = None,
    doc: str | None = None,
) -> None:
    """POST ``path``: ``write(svc, body[, id of the path])`` creates the record; 201 answers it as
    written (the path's id counts as sent)."""

    def endpoint(body: BaseModel, svc: MasterDataService, **path: str) -> object:
        obj = resource.out(write(svc, body, *path.values()))
        if not resource.echo:
            return obj
        sent = body.model_fields_set | set(path)
        return echo(resource.view, obj, sent, status.HTTP_201_CREATED)

    params = [under.parameter()] if under else []
    signed(endpoint, name, doc, *params, _body(resource.In), SERVICE)
    router.add_api_route(
        path,
        endpoint,
        methods=["POST"],
        status_code=status.HTTP_201_CREATED,
        response_model=resource.answer_model(),
    )


def update(
    router: APIRouter,
    path: str,
    resource: Resource,
    name: str,
    named: Named,
    write: Callable[[MasterDataService, str, dict[str, Any]], object],
) -> None:
    """PATCH ``path``: ``write(svc, id, changes)`` with only the fields the request sent."""

    def endpoint(body: BaseModel, svc: MasterDataService, **path: str) -> Response:
        changes = body.model_dump(exclude_unset=True)
        obj = write(svc, path[named.name], changes)
        return echo(resource.view, resource.out(obj), changes)

    signed(endpoint, name, None, named.parameter(), _body(resource.Patch), SERVICE)
    router.add_api_route(path, endpoint, methods=["PATCH"], response_model=resource.answer_model())


def one(
    router: APIRouter,
    path: str,
    resource: Resource,
    name: str,
    named: Named,
    load: Callable[[MasterDataUnitOfWork, str], object],
) -> None:
    """GET ``path``: the record ``load(session, id)`` reads, released by ``gate.one``."""

    def endpoint(gate: Gate[Any], reading: Reading, **path: str) -> Response:
        key = path[named.name]
        loader = lambda s: released(resource, load(s, key))  # noqa: E731
        return respond(gate.one(reading, resource.view, loader, **named.claims(key)))

    signed(endpoint, name, None, named.parameter(), GATE, READING)
    _get(router, path, endpoint, resource.Released)


def page(router: APIRouter, path: str, resource: Resource, name: str, repository: str) -> None:
    """GET ``path``: a page of the unit of work's ``repository`` (its ``refs`` decided, the page's
    rows loaded with ``get_many``), released by ``gate.page``."""

    def endpoint(offset: int, limit: int, gate: Gate[Any], reading: Reading) -> Response:
        def load(s: MasterDataUnitOfWork, ids: Iterable[str]) -> Iterable[Record]:
            return (released(resource, x) for x in getattr(s, repository).get_many(ids))

        index = lambda s: getattr(s, repository).refs()  # noqa: E731
        return respond(gate.page(reading, resource.view, index, load, offset, limit))

    signed(endpoint, name, None, OFFSET, LIMIT, GATE, READING)
    _get(router, path, endpoint, PageOut[resource.Released])  # type: ignore[name-defined]


def of(
    router: APIRouter,
    path: str,
    resource: Resource,
    name: str,
    owner: Named,
    load: Callable[[MasterDataUnitOfWork, str], Iterable[object]],
) -> None:
    """GET ``path``: the records of the owner the path names (a customer's contracts, a vehicle's
    usage periods), released by ``gate.of``."""

    def endpoint(gate: Gate[Any], reading: Reading, **path: str) -> Response:
        key = path[owner.name]

        def loader(s: MasterDataUnitOfWork) -> Iterable[Record]:
            return (released(resource, x) for x in load(s, key))

        return respond(gate.of(reading, resource.view, loader, **owner.claims(key)))

    signed(endpoint, name, None, owner.parameter(), GATE, READING)
    _get(router, path, endpoint, list[resource.Released])  # type: ignore[name-defined]


def standard(
    router: APIRouter,
    resource: Resource,
    things: str,
    named: Named,
    *,
    write: Callable[..., object],
    load: Callable[[MasterDataUnitOfWork, str], object],
    patch: Callable[[MasterDataService, str, dict[str, Any]], object] | None = None,
    create_name: str | None = None,
) -> None:
    """The standard routes of ``resource`` under ``/{things}`` (e.g. ``customers``), named
    ``create_customer``, ``list_customers``, ``get_customer``, ``update_customer``: POST
    (``write``), GET a page (the unit of work's repository ``things``), GET one (``load``),
    PATCH (``patch``)."""
    thing = resource.name.lower()
    one_path = f"/{things}/{{{named.name}}}"
    create(router, f"/{things}", resource, create_name or f"create_{thing}", write)
    page(router, f"/{things}", resource, f"list_{things}", things)
    one(router, one_path, resource, f"get_{thing}", named, load)
    if patch is not None:
        update(router, one_path, resource, f"update_{thing}", named, patch)
