"""CarData shares with third parties over HTTP, on SQLite and PostgreSQL (SPEC C2, U1-U3;
notice H; Data Act, Regulation (EU) 2023/2854, Art. 4-6).

An administrator registers two insurers (each a recipient of the policy under its own id); a
customer shares one vehicle's mileage with insurer A, in one request or by approving insurer
A's device code; insurer A reads exactly that (the platform API and the CarData API shapes),
insurer B and every other organisation nothing; after revocation nothing. A DMA gatekeeper is
refused; eligibility answers the catalogue and no value of the vehicle.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cardata_client import CarDataClient
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine

from carprivacy.bootstrap import bootstrap
from carprivacy.config import Settings
from carprivacy.domain.master import ContactDetails
from carprivacy.domain.vehicle_usage import UsageKind
from carprivacy.entrypoints.api.app import create_app
from carprivacy.services.audit.trail import AuditQuery
from carprivacy.testing import FakeClock

TOKEN = "shares-admin-token-ssssssssssssssssssss"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
NOW = datetime.now(UTC).replace(microsecond=0)
VIN = "WMW31DH0402R00077"
OTHER_VIN = "WMW31DH0402R00066"
PASSWORD = "shares passphrase 12"
MILEAGE = "Vehicle.TraveledDistance"
SPEED = "Vehicle.Speed"
VOLTAGE = "Vehicle.LowVoltageBattery.CurrentVoltage"


def _contact(name: str) -> ContactDetails:
    return ContactDetails(name, "Eva", "Oudegracht", "1", "3511 AB", "Utrecht", "NL", None, None)


def _person(client: TestClient, cid: str, **extra: str) -> str:
    body = {"id": cid, "name": cid, "kind": "person", "organisation": "mini_nl", **extra}
    r = client.post("/v1/callers", json={**body, "password": PASSWORD}, headers=ADMIN)
    assert r.status_code == 201, r.text
    t = client.post("/v1/auth/login", json={"login": cid, "password": PASSWORD})
    assert t.status_code == 200, t.text
    return str(t.json()["access_token"])


def _machine(client: TestClient, cid: str, organisation: str) -> str:
    body = {
        "id": cid,
        "name": cid,
        "kind": "machine",
        "role": "partner",
        "organisation": organisation,
        "generate_secret": True,
    }
    r = client.post("/v1/callers", json=body, headers=ADMIN)
    assert r.status_code == 201, r.text
    t = client.post(
        "/v1/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": cid,
            "client_secret": r.json()["client_secret"],
        },
    )
    assert t.status_code == 200, t.text
    return str(t.json()["access_token"])


def register(client: TestClient, party_id: str, undertaking: str | None = None) -> Any:
    return client.post(
        "/v1/third-parties",
        json={
            "id": party_id,
            "name": f"Insurer {party_id[-1].upper()} N.V.",
            "country": "NL",
            "transfer_mechanism": "eea",
            "undertaking": undertaking or f"{party_id}_group",
        },
        headers=ADMIN,
    )


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> Iterator[dict[str, Any]]:
    clock = FakeClock(NOW)
    settings = Settings(
        data_dir=tmp_path,
        admin_token=SecretStr(TOKEN),
        argon2_time_cost=1,
        argon2_memory_kib=8,
        token_ttl_seconds=86_400,
        cardata_token_ttl_seconds=86_400,
    )
    container = bootstrap(settings, engine=engine, clock=clock)
    m = container.master
    eva = m.register_customer(_contact("Eva"))
    bob = m.register_customer(_contact("Bob"))
    car = m.register_vehicle(VIN, "MINI Cooper SE", "green", ["sunroof"])
    other = m.register_vehicle(OTHER_VIN, "MINI Countryman", "blue")
    start = NOW - timedelta(days=10)
    m.add_usage(car.id, UsageKind.OWNER, start, customer_id=eva.id)
    m.add_usage(other.id, UsageKind.OWNER, start, customer_id=bob.id)
    for vin in (VIN, OTHER_VIN):
        records = [
            {"signal": s, "value": v + h, "ts": (NOW - timedelta(hours=10 - h)).isoformat()}
            for h in range(10)
            for s, v in ((MILEAGE, 1000), (SPEED, 30.0), (VOLTAGE, 12.0))
        ]
        stored = container.ingest.ingest(records, source="http", vehicle_vin=vin, received_at=NOW)
        assert stored.accepted == len(records)
    with TestClient(create_app(container)) as client:
        for party in ("insurer_a", "insurer_b"):
            r = register(client, party)
            assert r.status_code == 201, r.text
        tokens = {
            "eva": _person(client, "eva", role="customer", subject_id=eva.id),
            "bob": _person(client, "bob", role="customer", subject_id=bob.id),
            "insurer_a": _machine(client, "insurer_a_api", "insurer_a"),
            "insurer_b": _machine(client, "insurer_b_api", "insurer_b"),
            "kind": _machine(client, "any_cardata_party", "cardata_third_parties"),
        }
        yield {
            "client": client,
            "services": container,
            "clock": clock,
            "tokens": tokens,
            "eva": eva.id,
            "car": car.id,
            "other": other.id,
        }


def _as(w: dict[str, Any], who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {w['tokens'][who]}"}


def share(w: dict[str, Any], **over: Any) -> Any:
    body = {
        "vehicle_id": w["car"],
        "party": "insurer_a",
        "agreed_purpose": "usage-based insurance premium",
        "descriptors": [MILEAGE],
        **over,
    }
    return w["client"].post("/v1/me/cardata/shares", json=body, headers=_as(w, "eva"))


def telemetry(w: dict[str, Any], who: str, vehicle: str | None = None, **params: str) -> Any:
    return w["client"].get(
        f"/v1/vehicles/{vehicle or w['car']}/telemetry",
        params={"purpose": "cardata_sharing", **params},
        headers=_as(w, who),
    )


def _signals(r: Any) -> set[str]:
    assert r.status_code == 200, r.text
    return {str(i.get("signal")) for i in r.json()["items"]}


# -- sharing in the API and the portal's way ----------------------------------------------------


def test_a_share_with_insurer_a_releases_its_descriptors_to_insurer_a_only(
    world: dict[str, Any],
) -> None:
    """SPEC C2: one chosen party, one vehicle, its descriptors; never insurer B nor every
    organisation of the recipient kind; another vehicle nothing."""
    w = world
    before = telemetry(w, "insurer_a")
    assert before.status_code == 403 and "consent.required" in before.text
    made = share(w)
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["state"] == "active" and body["party"] == "insurer_a"
    assert body["descriptors"] == [MILEAGE]
    assert _signals(telemetry(w, "insurer_a")) == {MILEAGE}
    for other in ("insurer_b", "kind"):
        r = telemetry(w, other)
        assert r.status_code == 403, (other, r.text)
    # bob's vehicle: no share of it
    assert telemetry(w, "insurer_a", vehicle=w["other"]).status_code == 403
    # another purpose of the same party: nothing
    r = telemetry(w, "insurer_a", purpose="cardata_eligibility")
    assert r.status_code == 403


def test_a_revoked_share_releases_nothing_and_its_history_says_who_when_why(
    world: dict[str, Any],
) -> None:
    w = world
    made = share(w).json()
    assert _signals(telemetry(w, "insurer_a")) == {MILEAGE}
    w["clock"].advance(timedelta(minutes=3))
    r = w["client"].post(
        f"/v1/me/cardata/shares/{made['share_id']}/revocation", headers=_as(w, "eva")
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "revoked"
    history = r.json()["history"]
    assert [(e["state"], e["reason"], e["actor"]) for e in history] == [
        ("active", "customer_created", "eva"),
        ("revoked", "customer_revoked", "eva"),
    ]
    assert telemetry(w, "insurer_a").status_code == 403
    trail = w["services"].audit.find(AuditQuery(caller_id="eva", limit=1000))
    rules = [e.rule for e in trail if e.rule.startswith("share.")]
    assert rules == ["share.created", "share.revoked"]  # each change is in the audit trail
    # bob cannot see, revoke or read the history of eva's share (answers as unknown)
    for method, path in (
        ("GET", f"/v1/me/cardata/shares/{made['share_id']}"),
        ("POST", f"/v1/me/cardata/shares/{made['share_id']}/revocation"),
    ):
        assert w["client"].request(method, path, headers=_as(w, "bob")).status_code == 404
    listed = w["client"].get("/v1/me/cardata/shares", headers=_as(w, "bob")).json()
    assert listed == []


def test_a_share_expires_at_the_end_of_its_period(world: dict[str, Any]) -> None:
    w = world
    until = (NOW + timedelta(hours=2)).isoformat()
    made = share(w, valid_until=until).json()
    assert _signals(telemetry(w, "insurer_a")) == {MILEAGE}
    w["clock"].advance(timedelta(hours=3))
    assert telemetry(w, "insurer_a").status_code == 403
    got = w["client"].get(f"/v1/me/cardata/shares/{made['share_id']}", headers=_as(w, "eva"))
    assert got.json()["state"] == "expired"
    assert [e["reason"] for e in got.json()["history"]] == ["customer_created", "period_ended"]


def test_a_share_that_starts_later_is_pending_until_then(world: dict[str, Any]) -> None:
    w = world
    start = (NOW + timedelta(hours=1)).isoformat()
    made = share(w, valid_from=start).json()
    assert made["state"] == "pending"
    assert telemetry(w, "insurer_a").status_code == 403
    w["clock"].advance(timedelta(hours=1, minutes=1))
    assert _signals(telemetry(w, "insurer_a")) == {MILEAGE}


def test_a_category_share_releases_the_category(world: dict[str, Any]) -> None:
    w = world
    made = share(w, descriptors=[], categories=["vehicle_status"])
    assert made.status_code == 201, made.text
    assert _signals(telemetry(w, "insurer_a")) == {MILEAGE, VOLTAGE}


@pytest.mark.parametrize(
    ("over", "field", "rule"),
    [
        ({"party": "nobody_here"}, "party", "registered"),
        ({"party": "cardata_third_parties"}, "party", "registered"),
        ({"descriptors": ["Vehicle.Nope"]}, "descriptors.0", "unknown_descriptor"),
        ({"descriptors": [], "categories": []}, "descriptors", "one_of"),
        ({"categories": ["contact_data"], "descriptors": []}, "categories.0", "not_shareable"),
        ({"purpose": "marketing_email"}, "purpose", "shareable"),
        ({"valid_until": (NOW - timedelta(days=1)).isoformat()}, "valid_until", "future"),
        ({"vehicle_id": "unknown-vehicle"}, "vehicle_id", "yours"),
    ],
)
def test_a_bad_share_is_refused_naming_field_and_rule(
    world: dict[str, Any], over: dict[str, Any], field: str, rule: str
) -> None:
    r = share(world, **over)
    assert r.status_code == 422, r.text
    assert (field, rule) in {(p["field"], p["rule"]) for p in r.json()["errors"]}, r.text


def test_bobs_vehicle_cannot_be_shared_by_eva(world: dict[str, Any]) -> None:
    r = share(world, vehicle_id=world["other"])
    assert r.status_code == 422 and "vehicle_id" in r.text


# -- the third party's device code and the CarData API shapes -----------------------------------


def _party_client(w: dict[str, Any], party: str = "insurer_a") -> str:
    r = w["client"].post(
        f"/v1/third-parties/{party}/clients",
        json={
            "owner_id": f"{party}_api",
            "name": "UBI app",
            "agreed_purpose": "usage-based insurance premium",
            "descriptors": [MILEAGE],
            "days": 30,
        },
        headers=ADMIN,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["client_id"])


def approved_party(w: dict[str, Any], approve: bool = True) -> tuple[CarDataClient, Any]:
    client_id = _party_client(w)
    http = w["client"]
    cd = CarDataClient(http, client_id, sleep=lambda s: w["clock"].advance(timedelta(seconds=s)))
    device = cd.request_device_code()
    asked = http.post(
        "/v1/me/cardata/share-requests",
        json={"user_code": device["user_code"]},
        headers=_as(w, "eva"),
    )
    assert asked.status_code == 200, asked.text
    answer = http.post(
        "/v1/me/cardata/share-approvals",
        json={"user_code": device["user_code"], "vehicle_id": w["car"], "approve": approve},
        headers=_as(w, "eva"),
    )
    assert answer.status_code == 200, answer.text
    if approve:
        cd.poll_for_token(device)
    return cd, (asked.json(), answer.json(), device)


def _api(w: dict[str, Any], cd: CarDataClient, path: str, **params: str) -> Any:
    headers = {"Authorization": f"Bearer {cd.tokens['access_token']}", "x-version": "v1"}
    return w["client"].get(path, headers=headers, params=params)


def test_a_third_party_reads_its_share_through_the_cardata_api_shapes(
    world: dict[str, Any],
) -> None:
    """The third party is a CarData client of its own: the customer approves its device code;
    it reads mappings, basicData and telematicData limited to the share."""
    w = world
    cd, (asked, answer, _) = approved_party(w)
    assert asked["party_name"] == "Insurer A N.V." and asked["descriptors"] == [MILEAGE]
    assert "may not pass it on" in asked["terms"]["en"]
    assert answer["share"]["via"] == "device_code" and answer["share"]["state"] == "active"
    mappings = _api(w, cd, "/customers/vehicles/mappings")
    assert mappings.status_code == 200, mappings.text
    assert [m["vin"] for m in mappings.json()] == [VIN]
    assert mappings.json()[0]["mappingType"] == "SECONDARY"
    basic = _api(w, cd, f"/customers/vehicles/{VIN}/basicData")
    assert basic.status_code == 200, basic.text
    assert basic.json() == {"vin": VIN}  # no model, colour or equipment: not shared
    made = w["client"].post(
        "/customers/containers",
        json={"name": "ubi", "purpose": "premium", "technicalDescriptors": [MILEAGE, SPEED]},
        headers={"Authorization": f"Bearer {cd.tokens['access_token']}", "x-version": "v1"},
    )
    assert made.status_code == 201, made.text
    data = _api(
        w, cd, f"/customers/vehicles/{VIN}/telematicData", containerId=made.json()["containerId"]
    )
    assert data.status_code == 200, data.text
    assert set(data.json()["telematicData"]) == {MILEAGE}
    assert data.json()["missingDescriptors"] == [SPEED]
    assert data.json()["telematicData"][MILEAGE]["unit"] == "m"
    # bob's VIN: as an unknown one
    other = _api(
        w, cd, f"/customers/vehicles/{OTHER_VIN}/telematicData",
        containerId=made.json()["containerId"],
    )  # fmt: skip
    assert other.status_code in (403, 404)
    # revoked: nothing more
    share_id = answer["share"]["share_id"]
    w["client"].post(f"/v1/me/cardata/shares/{share_id}/revocation", headers=_as(w, "eva"))
    assert _api(w, cd, "/customers/vehicles/mappings").json() == []
    gone = _api(
        w, cd, f"/customers/vehicles/{VIN}/telematicData", containerId=made.json()["containerId"]
    )
    assert gone.status_code == 404, gone.text


def test_a_denied_device_code_makes_no_share(world: dict[str, Any]) -> None:
    w = world
    cd, (_, answer, device) = approved_party(w, approve=False)
    assert answer == {"status": "denied", "share": None}
    r = w["client"].post(
        "/gcdm/oauth/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "device_code": device["device_code"],
            "client_id": cd.client_id,
            "code_verifier": cd.verifier,
        },
    )
    assert r.json()["error"] == "access_denied"
    assert w["client"].get("/v1/me/cardata/shares", headers=_as(w, "eva")).json() == []


def test_a_customers_own_user_code_is_no_share_request(world: dict[str, Any]) -> None:
    w = world
    mine = (
        w["client"]
        .post(
            "/v1/me/cardata/clients",
            json={"name": "home", "scopes": ["cardata:api:read"]},
            headers=_as(w, "eva"),
        )
        .json()["client_id"]
    )
    device = CarDataClient(w["client"], mine).request_device_code()
    r = w["client"].post(
        "/v1/me/cardata/share-requests",
        json={"user_code": device["user_code"]},
        headers=_as(w, "eva"),
    )
    assert r.status_code == 404


# -- registration and the gatekeeper ------------------------------------------------------------


def test_registration_is_for_administrators_and_checks_its_input(world: dict[str, Any]) -> None:
    w = world
    r = w["client"].post(
        "/v1/third-parties",
        json={"id": "x_y", "name": "X", "country": "NL", "transfer_mechanism": "eea",
              "undertaking": "x_group"},
        headers=_as(w, "eva"),
    )  # fmt: skip
    assert r.status_code == 403
    assert register(w["client"], "insurer_a").status_code == 409
    r = w["client"].post(
        "/v1/third-parties",
        json={"id": "far_away", "name": "Far", "country": "US", "transfer_mechanism": "none",
              "undertaking": "far_group"},
        headers=ADMIN,
    )  # fmt: skip
    assert r.status_code == 422 and "chapter_v" in r.text
    listed = w["client"].get("/v1/third-parties", headers=ADMIN).json()
    assert [p["id"] for p in listed] == ["insurer_a", "insurer_b"]


def test_a_gatekeeper_is_refused_as_a_recipient(world: dict[str, Any]) -> None:
    """Data Act Art. 5(3): an undertaking the policy lists as a DMA gatekeeper is refused,
    naming the rule and the article."""
    r = register(world["client"], "big_platform", undertaking="alphabet")
    assert r.status_code == 422, r.text
    problem = next(p for p in r.json()["errors"] if p["field"] == "undertaking")
    assert problem["rule"] == "recipient.gatekeeper"
    assert "Art. 5(3) Regulation (EU) 2023/2854" in problem["message"]


# -- eligibility: the catalogue, no value -------------------------------------------------------


def test_eligibility_answers_the_catalogue_and_no_value_of_the_vehicle(
    world: dict[str, Any],
) -> None:
    w = world
    r = w["client"].post("/v1/cardata/eligibility", json={"vin": VIN}, headers=_as(w, "insurer_b"))
    assert r.status_code == 200, r.text
    names = {d["name"] for d in r.json()["descriptors"]}
    assert {MILEAGE, SPEED} <= names
    text = r.text
    for value in (VIN, "MINI Cooper SE", "green", "sunroof", w["car"]):
        assert value not in text
    # the eligibility purpose releases no record of the vehicle either
    direct = w["client"].get(
        f"/v1/vehicles/{w['car']}", params={"purpose": "cardata_eligibility"},
        headers=_as(w, "insurer_b"),
    )  # fmt: skip
    assert direct.status_code == 403 and "form.catalogue" in direct.text
    # a customer is no recipient of the eligibility purpose
    mine = w["client"].post("/v1/cardata/eligibility", json={"vin": VIN}, headers=_as(w, "eva"))
    assert mine.status_code == 403
    unknown = w["client"].post(
        "/v1/cardata/eligibility", json={"vin": "WMW00000000000000"}, headers=_as(w, "insurer_b")
    )
    assert unknown.status_code == 404
