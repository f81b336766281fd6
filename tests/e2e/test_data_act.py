"""The EU Data Act's promises (Regulation (EU) 2023/2854), each a named test over HTTP on
SQLite and PostgreSQL (SPEC C2; notice H, which points to the Data Act for vehicle data).

- Art. 3, 4(1): the user's own access is free of charge, in a structured, commonly used,
  machine-readable format, with the metadata needed to read it (units, descriptions, the
  catalogue); (the continuous, real-time access is the stream's, tested with it);
- Art. 5(1): the user shares with a third party of their choice without undue obstacles;
- Art. 5(3): an undertaking designated as a gatekeeper under the DMA is refused as a recipient;
- Art. 6(1), 6(2)(c): the third party may use the data only for the agreed purpose and may not
  pass it on: recorded with the share and shown in its terms, and enforced (another purpose,
  another organisation: nothing).
"""

from __future__ import annotations

import json
from typing import Any

import test_cardata_shares as shares
from test_cardata_shares import (
    MILEAGE,
    VIN,
    _as,
    _signals,
    approved_party,
    register,
    share,
    telemetry,
)

world = shares.world  # the fixture of the shares' tests: two insurers, Eva's car, Bob's


def _own_cardata_reader(w: dict[str, Any]) -> dict[str, str]:
    from cardata_client import CarDataClient

    made = w["client"].post(
        "/v1/me/cardata/clients",
        json={"name": "my app", "scopes": ["cardata:api:read"]},
        headers=_as(w, "eva"),
    )
    assert made.status_code == 201, made.text
    cd = CarDataClient(w["client"], made.json()["client_id"], sleep=lambda _: None)
    device = cd.request_device_code()
    ok = w["client"].post(
        "/v1/me/cardata/device-approvals",
        json={"user_code": device["user_code"]},
        headers=_as(w, "eva"),
    )
    assert ok.status_code == 200, ok.text
    token = cd.poll_for_token(device)["access_token"]
    return {"Authorization": f"Bearer {token}", "x-version": "v1"}


def test_data_act_own_access_is_free_machine_readable_and_comes_with_its_metadata(
    world: dict[str, Any],
) -> None:
    """Art. 3(1), 4(1): JSON with unit and time per value, the catalogue with units and
    descriptions of every descriptor, and no fee: reading again and again costs nothing and
    records no payment."""
    w = world
    http = w["client"]
    catalogue = http.get("/v1/catalogue")
    assert catalogue.status_code == 200 and catalogue.headers["content-type"].startswith(
        "application/json"
    )
    described = {d["name"]: d for d in catalogue.json()["descriptors"]}
    assert described[MILEAGE]["unit"] == "m"
    assert all(d["description"]["nl"] and d["description"]["en"] for d in described.values())
    api = _own_cardata_reader(w)
    container = http.post(
        "/customers/containers",
        json={"name": "all", "purpose": "me", "technicalDescriptors": sorted(described)[:50]},
        headers=api,
    )
    assert container.status_code == 201, container.text
    payments_before = http.get("/v1/me/payments", headers=_as(w, "eva")).json()
    for _ in range(5):
        r = http.get(
            f"/customers/vehicles/{VIN}/telematicData",
            params={"containerId": container.json()["containerId"]},
            headers=api,
        )
        assert r.status_code == 200, r.text
        values = r.json()["telematicData"]
        assert values and all({"value", "unit", "timestamp"} <= set(v) for v in values.values())
        assert all(name in described for name in values)  # every name is in the catalogue
        assert not {"fee", "price", "charge"} & set(json.dumps(r.json()).lower().split('"'))
    own = http.get("/v1/me/telemetry", headers=_as(w, "eva"), params={"limit": 10})
    assert own.status_code == 200 and own.json()["items"], own.text
    assert http.get("/v1/me/payments", headers=_as(w, "eva")).json() == payments_before


def test_data_act_the_user_shares_with_a_third_party_of_their_choice_without_undue_obstacles(
    world: dict[str, Any],
) -> None:
    """Art. 5(1): one request, effective at once, free of charge, with the party the person
    chose among the registered ones; one request revokes it."""
    w = world
    assert telemetry(w, "insurer_b").status_code == 403
    made = share(w, party="insurer_b")  # the person's choice, not the platform's
    assert made.status_code == 201, made.text
    assert made.json()["state"] == "active"
    assert _signals(telemetry(w, "insurer_b")) == {MILEAGE}  # at once, no other step
    assert not {"fee", "price"} & set(made.json())
    revoked = w["client"].post(
        f"/v1/me/cardata/shares/{made.json()['share_id']}/revocation", headers=_as(w, "eva")
    )
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    assert telemetry(w, "insurer_b").status_code == 403


def test_data_act_a_gatekeeper_is_refused_as_a_recipient(world: dict[str, Any]) -> None:
    """Art. 5(3): each undertaking the policy lists as a DMA gatekeeper is refused, naming the
    rule and the article."""
    for n, gatekeeper in enumerate(("alphabet", "amazon", "apple", "meta", "microsoft")):
        r = register(world["client"], f"platform_{n}", undertaking=gatekeeper)
        assert r.status_code == 422, r.text
        (problem,) = [p for p in r.json()["errors"] if p["field"] == "undertaking"]
        assert problem["rule"] == "recipient.gatekeeper"
        assert "Art. 5(3) Regulation (EU) 2023/2854" in problem["message"]
    listed = world["client"].get("/v1/third-parties", headers={"Authorization": "Bearer x"})
    assert listed.status_code == 401


def test_data_act_the_third_party_uses_the_data_only_for_the_agreed_purpose_and_passes_none_on(
    world: dict[str, Any],
) -> None:
    """Art. 6(1), 6(2)(c): recorded with the share (purpose_bound, no onward_transfer), shown
    in its terms (API and the party's request), and enforced: the party's reads under another
    purpose, and any other organisation's, get nothing."""
    w = world
    made = share(w).json()
    assert made["terms"]["purpose_bound"] is True and made["terms"]["onward_transfer"] is False
    assert "only for the agreed purpose: usage-based insurance premium" in made["terms"]["en"]
    assert "may not pass it on" in made["terms"]["en"]
    assert "niet aan anderen doorgeven" in made["terms"]["nl"]
    shown = w["client"].get(f"/v1/me/cardata/shares/{made['share_id']}", headers=_as(w, "eva"))
    assert shown.json()["terms"] == made["terms"]
    assert _signals(telemetry(w, "insurer_a")) == {MILEAGE}
    for purpose in ("cardata_eligibility", "product_development", "marketing_email"):
        assert telemetry(w, "insurer_a", purpose=purpose).status_code == 403, purpose
    for other in ("insurer_b", "kind"):  # no onward: another organisation reads nothing
        assert telemetry(w, other).status_code == 403, other
    _, (asked, answer, _) = approved_party(w)
    assert "may not pass it on" in asked["terms"]["en"]
    assert answer["share"]["terms"]["onward_transfer"] is False
