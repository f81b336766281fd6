"""Releasing personal data from a route (SPEC U1; issue 4 item 3: nothing bypasses the engine).

A route that returns personal data builds its usual answer object, then hands it to a
:class:`Reader` (the authenticated caller and the declared purpose) with a :class:`View` that says
which policy data category the object is and which of its fields are personal data. The reader
asks the decision engine (which writes the decision to the audit log) and applies the decision
with ``services/disclosure.py``: minimised fields, pseudonyms per recipient, coarsened times,
vehicle-linked without the customer. Fields a view does not list are dropped: a new field on an
answer object stays hidden until someone decides which category it belongs to.

Writes (staff managing master data) answer :func:`echo`: the object's id, its metadata and the
fields the caller itself sent, never stored personal data it did not send.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fastapi import Depends, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from carprivacy.bootstrap import Container
from carprivacy.domain.access import Caller, Decision
from carprivacy.domain.errors import AccessDeniedError
from carprivacy.domain.policy import Form
from carprivacy.entrypoints.api.auth import authorize, get_caller, get_purpose
from carprivacy.entrypoints.api.deps import get_container


@dataclass(frozen=True)
class View:
    """How an answer object maps onto one policy data category."""

    category: str
    fields: Mapping[str, str]  # answer field -> policy field of the category (personal data)
    metadata: frozenset[str] = frozenset()  # not personal data: released as they are
    subject_refs: frozenset[str] = frozenset()  # ids of a customer: identified form only
    vehicle_refs: frozenset[str] = frozenset()  # ids of a vehicle: identified or vehicle-linked
    key: str = "id"  # the object's own id: echoed to the writer that created it


def _plain(obj: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(obj, BaseModel):
        return obj.model_dump()
    return dict(obj)


def respond(content: object, status_code: int = 200) -> JSONResponse:
    """The released content as JSON (bypasses the route's full response model on purpose)."""
    encoded = jsonable_encoder(content, custom_encoder={Decimal: str})  # money stays exact
    return JSONResponse(encoded, status_code=status_code)


def echo(
    view: View, obj: BaseModel | Mapping[str, Any], sent: Iterable[str], status_code: int = 200
) -> JSONResponse:
    """The answer to a write: the object's key, metadata and the fields the caller sent."""
    data = _plain(obj)
    keep = view.metadata | {view.key} | set(sent)
    return respond({k: v for k, v in data.items() if k in keep}, status_code)


@dataclass
class Reader:
    """One caller reading for one purpose; every release is decided and audited."""

    container: Container
    caller: Caller
    purpose: str
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    action: str = "read"  # what the audit log says was done, e.g. "GET /v1/customers/{id}"

    def decide(
        self, view: View, *, subject_id: str | None = None, vehicle_id: str | None = None
    ) -> Decision:
        return authorize(
            self.container,
            self.caller,
            self.purpose,
            (view.category,),
            subject_id=subject_id,
            vehicle_id=vehicle_id,
            at=self.at,
            extra={"action": self.action},
        )

    def apply(
        self, view: View, decision: Decision, obj: BaseModel | Mapping[str, Any]
    ) -> dict[str, Any]:
        data = _plain(obj)
        row = {policy: data[api] for api, policy in view.fields.items() if api in data}
        (released,) = self.container.disclosure.apply(
            decision, view.category, [row], recipient=self.caller.organisation, at=self.at
        )
        out: dict[str, Any] = {k: v for k, v in data.items() if k in view.metadata}
        for api, policy in view.fields.items():
            if policy in released:
                out[api] = released[policy]
        form = decision.form
        pseudonymiser = self.container.disclosure.pseudonymiser(self.caller.organisation)
        for name in view.subject_refs | view.vehicle_refs:
            value = data.get(name)
            if value is None:
                continue
            clear = form is Form.IDENTIFIED or (
                form is Form.VEHICLE_LINKED and name in view.vehicle_refs
            )
            out[name] = value if clear else pseudonymiser.pseudonym(name, value)
        return out

    def one(
        self,
        view: View,
        obj: BaseModel | Mapping[str, Any],
        *,
        subject_id: str | None = None,
        vehicle_id: str | None = None,
    ) -> dict[str, Any]:
        """Release one object, or raise AccessDeniedError (403 with the reasons)."""
        decision = self.decide(view, subject_id=subject_id, vehicle_id=vehicle_id)
        return self.apply(view, decision, obj)

    def many(
        self,
        view: View,
        items: Iterable[tuple[BaseModel | Mapping[str, Any], str | None, str | None]],
    ) -> list[dict[str, Any]]:
        """Release the allowed ones of (object, subject id, vehicle id); denied ones are left out
        (each decision, allow or deny, is in the audit log)."""
        out: list[dict[str, Any]] = []
        for obj, subject_id, vehicle_id in items:
            try:
                out.append(self.one(view, obj, subject_id=subject_id, vehicle_id=vehicle_id))
            except AccessDeniedError:
                continue
        return out


def get_reader(
    request: Request,
    caller: Caller = Depends(get_caller),
    purpose: str = Depends(get_purpose),
    container: Container = Depends(get_container),
) -> Reader:
    """A dependency: the authenticated caller and the purpose it declares (422 without one)."""
    route = request.scope.get("route")
    template = getattr(route, "path", None) or request.url.path
    return Reader(container, caller, purpose, action=f"{request.method} {template}"[:120])
