"""HTTP glue of the gate (services/access/gate.py): a request becomes a Reading, an answer bytes.

A route that returns personal data calls the gate with the Reading of its request (the
authenticated caller, the declared purpose, the route as the audited action) and the View of its
records; the gate decides, releases and audits. Routes hold no privacy logic.

Writes (staff managing master data) answer :func:`echo`: the record's id, its bookkeeping and the
fields the caller itself sent, never stored personal data it did not send.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel
from pydantic_core import to_json

from carprivacy.bootstrap import Services
from carprivacy.domain.access import Caller
from carprivacy.entrypoints.api.auth import get_caller, get_purpose
from carprivacy.entrypoints.api.deps import get_services
from carprivacy.services.access.gate import Gate, Reading, Released
from carprivacy.services.access.views import View


def respond(content: object, status_code: int = 200) -> Response:
    """The released content as JSON (bypasses the route's full response model on purpose)."""
    if isinstance(content, Released):
        content = {
            "items": content.items,
            "total": content.total,
            "offset": content.offset,
            "limit": content.limit,
        }
    return Response(encoded(content), status_code=status_code, media_type="application/json")


def encoded(content: object) -> bytes:
    """Released content as JSON bytes, the same for a page, an answer and a streamed line:
    pydantic-core's encoder (money, a Decimal, stays an exact string; times as in every
    response model, ISO 8601 with UTC as Z), ~25x faster than jsonable_encoder on a page."""
    return to_json(content)


def echo(
    view: View, obj: BaseModel | Mapping[str, Any], sent: Iterable[str], status_code: int = 200
) -> Response:
    """The answer to a write: the record's key, bookkeeping and the fields the caller sent."""
    data = obj.model_dump() if isinstance(obj, BaseModel) else dict(obj)
    keep = view.bookkeeping | {view.key} | set(sent)
    return respond({k: v for k, v in data.items() if k in keep}, status_code)


def get_reading(
    request: Request,
    caller: Caller = Depends(get_caller),
    purpose: str = Depends(get_purpose),
) -> Reading:
    """A dependency: the authenticated caller and the purpose it declares (422 without one)."""
    route = request.scope.get("route")
    template = getattr(route, "path", None) or request.url.path
    return Reading(caller, purpose, action=f"{request.method} {template}"[:120])


async def get_gate(services: Services = Depends(get_services)) -> Gate[Any]:
    return services.gate
