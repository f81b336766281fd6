"""Sharing with third parties (SPEC C2; Data Act Art. 4-6): the person's shares with their
state, terms and history; a new share in one form (one vehicle, one registered party, the
data, the agreed purpose, until when); revoke. Answered by ``ShareService`` as
``/v1/me/cardata/shares`` is. A vehicle is chosen by its place in the person's own list in
the form, never named in a URL; a share by its id (a random id, no personal data)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from carprivacy.domain.errors import InvalidInputError, NotFoundError, Problem
from carprivacy.entrypoints.web.context import (
    PREFIX,
    Customer,
    language,
    redirect,
    render,
    services_of,
    signed_in,
)
from carprivacy.entrypoints.web.pages.vehicles import my_vehicles, own_data

router = APIRouter()
PURPOSE = "cardata_sharing"


def shareable(request: Request, customer: Customer) -> list[dict[str, object]]:
    """The person's vehicles that can be shared now (owned or driven now), as listed."""
    s = services_of(request)
    now = s.sharing.shares.clock()
    found = []
    for v in my_vehicles(own_data(request), customer):
        vid = str(v.get("id") or v.get("vehicle_id") or "")
        if vid and s.sharing.shares.uses_vehicle(customer.subject_id, vid, now):
            found.append({**v, "_id": vid})
    return found


def _page(request: Request, customer: Customer, **context: Any) -> Response:
    s = services_of(request).sharing
    vehicles = shareable(request, customer)
    names = {
        str(v["_id"]): f"{v.get('model') or ''} {v.get('vin') or ''}".strip() for v in vehicles
    }
    return render(
        request,
        "shares.html",
        shares=s.shares.shares_of(customer.caller),
        vehicles=vehicles,
        vehicle_names=names,
        parties=s.registry.parties(),
        descriptors=s.catalogue.descriptors(),
        default_until=(date.today() + timedelta(days=365)).isoformat(),
        **context,
    )


@router.get("/shares")
def shares(request: Request, saved: str = "", customer: Customer = Depends(signed_in)) -> Response:
    return _page(request, customer, saved=saved if saved in ("shared", "revoked") else "")


@router.post("/shares")
def create(
    request: Request,
    vehicle: int = Form(..., ge=0, le=1000),
    party: str = Form(..., min_length=1, max_length=64),
    agreed_purpose: str = Form(..., min_length=1, max_length=100),
    valid_until: date = Form(...),
    descriptor: list[str] = Form([]),
    customer: Customer = Depends(signed_in),
) -> Response:
    """One share: the vehicle (its place in the list), the party, the data ticked, the agreed
    purpose, until the end of ``valid_until`` (UTC)."""
    if len(descriptor) > 200 or any(len(d) > 100 for d in descriptor):
        raise InvalidInputError([Problem("descriptor", "max_items", "at most 200 descriptors")])
    vehicles = shareable(request, customer)
    if vehicle >= len(vehicles):
        raise InvalidInputError([Problem("vehicle", "yours", "a vehicle you own or drive now")])
    until = datetime.combine(valid_until, time.max, tzinfo=UTC).replace(microsecond=0)
    made = services_of(request).sharing.shares.create(
        customer.caller,
        vehicle_id=str(vehicles[vehicle]["_id"]),
        party=party,
        purpose=PURPOSE,
        agreed_purpose=agreed_purpose,
        descriptors=descriptor,
        valid_until=until,
    )
    return redirect(f"{PREFIX}/shares/{made.share.id}?saved=shared")


@router.get("/shares/{share_id}")
def detail(
    request: Request, share_id: str, saved: str = "", customer: Customer = Depends(signed_in)
) -> Response:
    s = services_of(request).sharing.shares
    if len(share_id) > 64:
        raise NotFoundError("share", "")
    view = s.share(customer.caller, share_id)
    names = {
        str(v["_id"]): f"{v.get('model') or ''} {v.get('vin') or ''}".strip()
        for v in shareable(request, customer)
    }
    lang = language(request)
    policy = services_of(request).policy
    labels = {
        f.vss_signal: f.label.get(lang) for c in policy.categories for f in c.fields if f.vss_signal
    }
    labels.update({c.id: c.name.get(lang) for c in policy.categories})
    shared = view.share.descriptors or view.share.categories
    named = [f"{labels[d]} ({d})" if d in labels else d for d in shared]
    return render(
        request,
        "share.html",
        view=view,
        shared=named,  # each descriptor by its label in the page's language, and its name
        history=s.history(customer.caller, share_id),
        vehicle_name=names.get(view.share.vehicle_id, ""),
        me=customer.caller.id,
        saved=saved if saved in ("shared", "revoked") else "",
    )


@router.post("/shares/{share_id}/revoke")
def revoke(request: Request, share_id: str, customer: Customer = Depends(signed_in)) -> Response:
    if len(share_id) > 64:
        raise NotFoundError("share", "")
    services_of(request).sharing.shares.revoke(customer.caller, share_id)
    return redirect(f"{PREFIX}/shares/{share_id}?saved=revoked")
