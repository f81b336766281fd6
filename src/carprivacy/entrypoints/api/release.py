"""Releasing personal data from a route (SPEC U1: nothing bypasses the engine).

A route that returns personal data builds its usual answer object, then hands it to a
:class:`Reader` (the authenticated caller and the declared purpose) with a :class:`View` that says
which policy data category the object is and which of its fields are personal data. The reader
asks the decision engine (which writes the decision to the audit log) and applies the decision
with ``services/access/disclosure.py``: minimised fields, pseudonyms per recipient, coarsened times,
vehicle-linked without the customer. Fields a view does not list are dropped: a new field on an
answer object stays hidden until someone decides which category it belongs to.

Writes (staff managing master data) answer :func:`echo`: the object's id, its metadata and the
fields the caller itself sent, never stored personal data it did not send.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any, TypeVar

from fastapi import Depends, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from carprivacy.bootstrap import Container
from carprivacy.domain.access import Caller, Decision, DecisionRequest, Role
from carprivacy.domain.errors import AccessDeniedError, NotFoundError
from carprivacy.domain.policy import Coarsening, Form
from carprivacy.domain.pseudonym import coarsen_time
from carprivacy.entrypoints.api.auth import authorize, get_caller, get_purpose
from carprivacy.entrypoints.api.deps import get_container
from carprivacy.services.master.paging import MAX_PAGE, Page

DAY = 86_400


@dataclass(frozen=True)
class View:
    """How an answer object maps onto one policy data category."""

    category: str
    fields: Mapping[str, str]  # answer field -> policy field of the category (personal data)
    metadata: frozenset[str] = frozenset()  # not personal data: released as they are
    subject_refs: frozenset[str] = frozenset()  # ids of a customer: identified form only
    vehicle_refs: frozenset[str] = frozenset()  # ids of a vehicle: identified or vehicle-linked
    key: str = "id"  # the object's own id: echoed to the writer that created it
    # ids of rows that link to a customer (an account, a usage period, a fleet): in clear only
    # when identified, pseudonyms when pseudonymised, left out when vehicle-linked (P6)
    linked_ids: frozenset[str] = frozenset()


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
        form = decision.form
        pseudonymiser = self.container.disclosure.pseudonymiser(self.caller.organisation)
        coarsening = self.container.disclosure.coarsening(decision.purpose)
        out: dict[str, Any] = {}
        for name in view.metadata:
            if name in data:
                value = data[name]
                out[name] = _coarse(value, coarsening) if form is Form.PSEUDONYMISED else value
        for api, policy in view.fields.items():
            if policy in released:
                out[api] = released[policy]
        for name in view.subject_refs | view.vehicle_refs | view.linked_ids:
            value = data.get(name)
            if value is None:
                continue
            if form is Form.IDENTIFIED or (
                form is Form.VEHICLE_LINKED and name in view.vehicle_refs
            ):
                out[name] = value
            elif form is Form.PSEUDONYMISED:
                out[name] = pseudonymiser.pseudonym(name, value)
            # vehicle-linked: the vehicle's data only, nothing that leads to a customer
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

    def request(
        self, view: View, *, subject_id: str | None = None, vehicle_id: str | None = None
    ) -> DecisionRequest:
        return DecisionRequest(
            caller=self.caller,
            purpose=self.purpose,
            categories=(view.category,),
            at=self.at,
            subject_id=subject_id,
            vehicle_id=vehicle_id,
            extra={"action": self.action},
        )

    def screen(
        self, view: View, *, subject_id: str | None = None, vehicle_id: str | None = None
    ) -> None:
        """Refuse (403, recorded) what needs no look-up: purpose, organisation, role, categories,
        transfer, a customer naming another subject. Call it before looking a subject up, so
        that a 404 never tells a refused caller which ids exist."""
        request = self.request(view, subject_id=subject_id, vehicle_id=vehicle_id)
        decision = self.container.decisions.screen(request)
        if decision is not None:
            raise AccessDeniedError(
                f"purpose {self.purpose!r} does not allow this read",
                tuple(str(r) for r in decision.reasons),
            )

    def find(self, view: View, look_up: Callable[[], T]) -> T:
        """``look_up()``; for a caller that reaches only some rows (customer, fleet manager) an
        unknown id is the same 403 as someone else's row, recorded: whether an id exists is
        not theirs to learn. Others get the 404."""
        try:
            return look_up()
        except NotFoundError:
            if self.caller.role not in (Role.CUSTOMER, Role.FLEET_MANAGER):
                raise
        reason = self.container.decisions.policy.reach_reason(self.caller)
        self.container.decisions.decide_list([], (self.request(view), reason))
        raise AccessDeniedError(
            f"purpose {self.purpose!r} does not allow this read", (str(reason),)
        )

    def many(
        self, view: View, items: Iterable[Row], remainder: bool = False
    ) -> list[dict[str, Any]]:
        """Release the allowed ones of (object, subject id, vehicle id); denied ones are left out.

        The rows are decided as one batch (one audit transaction, each row's decision logged);
        ``remainder`` adds one refusal entry for rows of the list the caller could not reach."""
        rows = list(items)
        requests = [self.request(view, subject_id=s, vehicle_id=v) for _, s, v in rows]
        rest = None
        if remainder:
            reason = self.container.decisions.policy.reach_reason(self.caller)
            rest = (self.request(view), reason)
        decisions = self.container.decisions.decide_list(requests, rest)
        return [
            self.apply(view, d, obj)
            for (obj, _, _), d in zip(rows, decisions, strict=True)
            if d.allowed
        ]

    def page(
        self,
        view: View,
        fetch: Callable[[int, int], Page[T]],
        row: Callable[[T], Row],
        offset: int,
        limit: int,
        own: Callable[[str], list[T]],
    ) -> dict[str, Any]:
        """A page of a list read, decided per row only for rows the caller could see.

        Customers reach only their own rows (``own(subject_id)``), fleet managers only rows of
        vehicles in their fleet at ``at``; for them ``total`` counts the released rows and the
        unreachable rest is one refusal entry in the audit log. Other callers (staff, partners)
        get the page decided row by row and ``total`` of the whole list."""
        self.screen(view)
        role = self.caller.role
        if role not in (Role.CUSTOMER, Role.FLEET_MANAGER):
            found = fetch(offset, limit)
            items = self.many(view, (row(x) for x in found.items))
            return {"items": items, "total": found.total, "offset": offset, "limit": limit}
        if role is Role.CUSTOMER:
            subject = self.caller.subject_id
            candidates = [row(x) for x in own(subject)] if subject else []
        else:
            candidates = [r for r in map(row, _every(fetch)) if self._in_fleet(r[2])]
        everything = fetch(0, 1).total
        released = self.many(view, candidates, remainder=everything > len(candidates))
        page = released[offset : offset + limit]
        return {"items": page, "total": len(released), "offset": offset, "limit": limit}

    def _in_fleet(self, vehicle_id: str | None) -> bool:
        fleet = self.caller.fleet_id
        if vehicle_id is None or fleet is None:
            return False
        periods = self.container.decisions.master.fleets_of(vehicle_id)
        return any(p.fleet_id == fleet and p.active(self.at) for p in periods)


Row = tuple[BaseModel | Mapping[str, Any], str | None, str | None]
T = TypeVar("T")


def _coarse(value: object, coarsening: Coarsening) -> object:
    """A time as exact as the purpose allows (pseudonymised form): datetimes truncated to the
    purpose's period, dates too when the period is longer than a day; other values unchanged."""
    if isinstance(value, datetime):
        return coarsen_time(value, coarsening)
    if isinstance(value, date) and coarsening.time_seconds > DAY:
        midnight = datetime.combine(value, time(0), tzinfo=UTC)
        return coarsen_time(midnight, coarsening).date()
    return value


def _every(fetch: Callable[[int, int], Page[T]]) -> Iterator[T]:
    offset = 0
    while True:
        found = fetch(offset, MAX_PAGE)
        yield from found.items
        offset += len(found.items)
        if not found.items or offset >= found.total:
            return


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
