"""CarData over HTTP, on SQLite and PostgreSQL (SPEC C2, U1-U3; notice section H).

A customer creates a CarData client id, a client written for the published BMW CarData API
(``cardata_client.py``) pointed at carprivacy completes the device-code flow, lists the
mappings, creates a container and reads the newest value of each descriptor; the refresh token
rotates; the customer API answers the published error body (a missing ``x-version``, a token
without ``cardata:api:read``, an unknown descriptor named), counts calls per client and
account in the database and answers 429 with ``Retry-After`` past the quota; every answer is
decided and audited by the gate as the person's own access; another person's VIN answers as an
unknown one.
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
from carprivacy.domain.decision_index import ACCESS_PURPOSE
from carprivacy.domain.master import AccountKind, ContactDetails
from carprivacy.domain.vehicle_usage import UsageKind
from carprivacy.entrypoints.api.app import create_app
from carprivacy.services.audit.trail import AuditQuery
from carprivacy.testing import FakeClock

TOKEN = "cardata-admin-token-ccccccccccccccccccc"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
NOW = datetime.now(UTC).replace(microsecond=0)
VIN = "WMW31DH0402R00088"
OTHER_VIN = "WMW31DH0402R00099"
PASSWORD = "cardata passphrase 1"
MILEAGE = "Vehicle.TraveledDistance"
SPEED = "Vehicle.Speed"


def _contact(name: str) -> ContactDetails:
    return ContactDetails(name, "Eva", "Oudegracht", "1", "3511 AB", "Utrecht", "NL", None, None)


def _login(client: TestClient, cid: str, **extra: str) -> str:
    body = {"id": cid, "name": cid, "kind": "person", "organisation": "mini_nl", **extra}
    r = client.post("/v1/callers", json={**body, "password": PASSWORD}, headers=ADMIN)
    assert r.status_code == 201, r.text
    t = client.post("/v1/auth/login", json={"login": cid, "password": PASSWORD})
    assert t.status_code == 200, t.text
    return str(t.json()["access_token"])


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> Iterator[dict[str, Any]]:
    clock = FakeClock(NOW)
    settings = Settings(
        data_dir=tmp_path,
        admin_token=SecretStr(TOKEN),
        argon2_time_cost=1,
        argon2_memory_kib=8,
        cardata_calls_per_client=12,
        cardata_calls_per_account=100,
    )
    container = bootstrap(settings, engine=engine, clock=clock)
    m = container.master
    eva = m.register_customer(_contact("Eva"))
    bob = m.register_customer(_contact("Bob"))
    account = m.open_account(eva.id, "mini_ag", AccountKind.GROUP_LOGIN, "eva-login")
    car = m.register_vehicle(VIN, "MINI Cooper SE", "green", ["sunroof"])
    other = m.register_vehicle(OTHER_VIN, "MINI Countryman", "blue")
    start = NOW - timedelta(days=10)
    m.add_usage(car.id, UsageKind.OWNER, start, customer_id=eva.id)
    m.add_usage(other.id, UsageKind.OWNER, start, customer_id=bob.id)
    for vin in (VIN, OTHER_VIN):
        records = [
            {"signal": s, "value": v + h, "ts": (NOW - timedelta(hours=10 - h)).isoformat()}
            for h in range(10)
            for s, v in ((MILEAGE, 1000), (SPEED, 30.0))
        ]
        stored = container.ingest.ingest(records, source="http", vehicle_vin=vin, received_at=NOW)
        assert stored.accepted == len(records)
    with TestClient(create_app(container)) as client:
        tokens = {
            "eva": _login(client, "eva", role="customer", subject_id=eva.id),
            "bob": _login(client, "bob", role="customer", subject_id=bob.id),
            "desk": _login(client, "desk", role="customer_service"),
        }
        yield {
            "client": client,
            "services": container,
            "clock": clock,
            "tokens": tokens,
            "eva": eva.id,
            "account": account.id,
        }


def _me(w: dict[str, Any], who: str = "eva") -> dict[str, str]:
    return {"Authorization": f"Bearer {w['tokens'][who]}"}


def _new_client(w: dict[str, Any], scopes: list[str], who: str = "eva") -> str:
    r = w["client"].post(
        "/v1/me/cardata/clients", json={"name": "home", "scopes": scopes}, headers=_me(w, who)
    )
    assert r.status_code == 201, r.text
    assert sorted(r.json()["scopes"]) == sorted(scopes)
    return str(r.json()["client_id"])


def _authorised(w: dict[str, Any], scopes: list[str] | None = None) -> CarDataClient:
    """A published-API client through the device flow, the person approving while it polls."""
    client_id = _new_client(w, scopes or ["cardata:api:read", "cardata:streaming:read"])
    http, clock = w["client"], w["clock"]
    device: dict[str, Any] = {}
    polls = []

    def sleep(seconds: float) -> None:
        clock.advance(timedelta(seconds=seconds))
        polls.append(seconds)
        if len(polls) == 2:  # the person types the code after the client polled once
            r = http.post(
                "/v1/me/cardata/device-approvals",
                json={"user_code": device["user_code"].lower()},
                headers=_me(w),
            )
            assert r.status_code == 200, r.text

    cd = CarDataClient(http, client_id, sleep=sleep)
    device.update(cd.request_device_code())
    cd.poll_for_token(device)
    return cd


def test_a_published_api_client_completes_the_flow_and_reads_the_car(
    world: dict[str, Any],
) -> None:
    w = world
    cd = _authorised(w)
    tokens = cd.tokens
    assert tokens["gcid"] == w["account"]  # the group login account id
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 3600
    assert {"cardata:api:read", "cardata:streaming:read"} <= set(tokens["scope"].split())
    assert tokens["id_token"] and tokens["refresh_token"]

    assert cd.mappings() == [
        {"vin": VIN, "mappedSince": _iso(NOW - timedelta(days=10)), "mappingType": "PRIMARY"}
    ]
    basic = cd.basic_data(VIN)
    assert basic["vin"] == VIN and basic["modelName"] == "MINI Cooper SE"
    assert basic["brand"] == "MINI" and basic["fullSAList"] == "sunroof"
    container_id = cd.create_container("mine", "trip log", [MILEAGE, SPEED])
    assert [c["containerId"] for c in cd.containers()] == [container_id]
    data = cd.telematic_data(VIN, container_id)
    assert data[MILEAGE]["value"] == "1009"  # the newest of ten
    assert data[MILEAGE]["unit"] == "m"
    assert data[MILEAGE]["timestamp"] == _iso(NOW - timedelta(hours=1))
    assert data[SPEED]["value"] == "39.0"

    # every answer was decided and audited as the person's own access
    entries = w["services"].audit.find(
        AuditQuery(caller_id="eva", purpose=ACCESS_PURPOSE, limit=1000)
    )
    actions = {e.action for e in entries}
    assert "GET /customers/vehicles/mappings" in actions
    assert "GET /customers/vehicles/{vin}/telematicData" in actions
    assert all(e.outcome == "allow" for e in entries)


def test_refresh_tokens_rotate_and_a_reused_one_revokes_the_grant(world: dict[str, Any]) -> None:
    w = world
    cd = _authorised(w)
    first = dict(cd.tokens)
    second = cd.refresh()
    assert second["refresh_token"] != first["refresh_token"]
    assert cd.mappings()  # the new access token works
    again = w["client"].post(
        "/gcdm/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
            "client_id": cd.client_id,
        },
    )
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    # the reuse revoked the grant: the current access token and refresh token stop too
    r = w["client"].get(
        "/customers/vehicles/mappings",
        headers={"Authorization": f"Bearer {second['access_token']}", "x-version": "v1"},
    )
    assert r.status_code == 401 and r.json()["exveErrorId"] == "CU-401"
    with pytest.raises(Exception, match="400"):
        cd.refresh()


def test_the_token_endpoint_answers_rfc_8628_until_the_person_answers(
    world: dict[str, Any],
) -> None:
    w = world
    http, clock = w["client"], w["clock"]
    client_id = _new_client(w, ["cardata:api:read"])
    cd = CarDataClient(http, client_id)
    device = cd.request_device_code()
    assert device["verification_uri_complete"].endswith(device["user_code"])
    assert device["expires_in"] == 600 and device["interval"] == 5

    def poll(verifier: str | None = None) -> Any:
        return http.post(
            "/gcdm/oauth/token",
            data={
                "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                "device_code": device["device_code"],
                "client_id": client_id,
                "code_verifier": verifier or cd.verifier,
            },
        )

    assert poll().json()["error"] == "authorization_pending"
    assert poll().json()["error"] == "slow_down"  # no wait at all
    clock.advance(timedelta(seconds=11))
    wrong = poll("x" * 43)
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    deny = http.post(
        "/v1/me/cardata/device-approvals",
        json={"user_code": device["user_code"], "approve": False},
        headers=_me(w),
    )
    assert deny.status_code == 200 and deny.json()["status"] == "denied"
    clock.advance(timedelta(seconds=11))
    assert poll().json()["error"] == "access_denied"
    # a code answered once cannot be approved afterwards
    late = http.post(
        "/v1/me/cardata/device-approvals", json={"user_code": device["user_code"]}, headers=_me(w)
    )
    assert late.status_code == 404
    clock.advance(timedelta(minutes=11))
    assert poll().json()["error"] == "expired_token"


def test_device_codes_are_single_use_and_bound_to_their_person(world: dict[str, Any]) -> None:
    w = world
    http = w["client"]
    cd = CarDataClient(http, _new_client(w, ["cardata:api:read"]))
    device = cd.request_device_code()
    # Bob cannot approve Eva's client's code: answered as an unknown code
    bob = http.post(
        "/v1/me/cardata/device-approvals",
        json={"user_code": device["user_code"]},
        headers=_me(w, "bob"),
    )
    assert bob.status_code == 404
    ok = http.post(
        "/v1/me/cardata/device-approvals", json={"user_code": device["user_code"]}, headers=_me(w)
    )
    assert ok.status_code == 200
    form = {
        "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
        "device_code": device["device_code"],
        "client_id": cd.client_id,
        "code_verifier": cd.verifier,
    }
    assert http.post("/gcdm/oauth/token", data=form).status_code == 200
    used = http.post("/gcdm/oauth/token", data=form)
    assert used.status_code == 400 and used.json()["error"] == "invalid_grant"


def test_user_codes_are_rate_limited_against_guessing(world: dict[str, Any]) -> None:
    w = world
    answers = [
        w["client"].post(
            "/v1/me/cardata/device-approvals", json={"user_code": "BCDF-GHJK"}, headers=_me(w)
        )
        for _ in range(12)
    ]
    assert [a.status_code for a in answers[:10]] == [404] * 10
    assert answers[10].status_code == 429 and int(answers[10].headers["Retry-After"]) > 0


def test_the_device_code_endpoint_refuses_what_the_published_flow_does_not_take(
    world: dict[str, Any],
) -> None:
    w = world
    http = w["client"]
    client_id = _new_client(w, ["cardata:api:read"])
    base = {
        "client_id": client_id,
        "response_type": "device_code",
        "scope": "openid cardata:api:read",
        "code_challenge": "A" * 43,
        "code_challenge_method": "S256",
    }
    assert http.post("/gcdm/oauth/device/code", data=base).status_code == 200
    for change, error, code in (
        ({"client_id": "nobody"}, "invalid_client", 401),
        ({"code_challenge_method": "plain"}, "invalid_request", 400),
        ({"code_challenge": "short"}, "invalid_request", 400),
        ({"response_type": "code"}, "invalid_request", 400),
        ({"scope": "cardata:streaming:read"}, "invalid_scope", 400),  # not this client's
        ({"scope": "openid admin"}, "invalid_scope", 400),
    ):
        r = http.post("/gcdm/oauth/device/code", data={**base, **change})
        assert (r.status_code, r.json()["error"]) == (code, error), change
    grant = http.post("/gcdm/oauth/token", data={"grant_type": "password"})
    assert grant.json()["error"] == "unsupported_grant_type"


def test_the_customer_api_answers_the_published_error_body(world: dict[str, Any]) -> None:
    w = world
    http = w["client"]
    cd = _authorised(w)
    token = {"Authorization": f"Bearer {cd.tokens['access_token']}"}
    for version in ({}, {"x-version": "v2"}):
        r = http.get("/customers/vehicles/mappings", headers={**token, **version})
        assert r.status_code == 400, r.text
        body = r.json()
        assert body["exveErrorId"] == "CU-400" and "x-version" in body["exveNote"]
        assert body["exveErrorRef"]
    api = {**token, "x-version": "v1"}
    # an unknown descriptor is refused naming it; nothing is stored
    r = http.post(
        "/customers/containers",
        json={"name": "x", "purpose": "y", "technicalDescriptors": [MILEAGE, "Vehicle.Warp"]},
        headers=api,
    )
    assert r.status_code == 400 and "Vehicle.Warp" in r.json()["exveNote"]
    assert cd.containers() == []
    # another person's VIN and an unknown one answer alike
    other = http.get(f"/customers/vehicles/{OTHER_VIN}/basicData", headers=api)
    unknown = http.get("/customers/vehicles/WMW00000000000000/basicData", headers=api)
    assert other.status_code == unknown.status_code == 404
    assert other.json()["exveErrorMsg"] == unknown.json()["exveErrorMsg"]
    # the platform's own routes do not take a CarData token, nor the CarData API a login token
    assert http.get("/v1/me/customer", headers=token).status_code == 401
    r = http.get("/customers/vehicles/mappings", headers={**_me(w), "x-version": "v1"})
    assert r.status_code == 401 and r.json()["exveErrorId"] == "CU-401"
    # deleted containers are gone; a deleted client's tokens stop at once
    made = cd.create_container("c", "p", [MILEAGE])
    assert http.delete(f"/customers/containers/{made}", headers=api).status_code == 204
    assert http.get(f"/customers/containers/{made}", headers=api).status_code == 404
    assert http.delete(f"/v1/me/cardata/clients/{cd.client_id}", headers=_me(w)).status_code == 204
    assert http.get("/customers/containers", headers=api).status_code == 401


def test_a_token_without_api_read_is_refused_403(world: dict[str, Any]) -> None:
    w = world
    cd = _authorised(w, ["cardata:streaming:read"])
    r = w["client"].get(
        "/customers/vehicles/mappings",
        headers={"Authorization": f"Bearer {cd.tokens['access_token']}", "x-version": "v1"},
    )
    assert r.status_code == 403, r.text
    assert r.json()["exveErrorId"] == "CU-403" and "cardata:api:read" in r.json()["exveNote"]


def test_calls_are_counted_per_client_in_the_store_and_refused_past_the_quota(
    world: dict[str, Any],
) -> None:
    w = world
    cd = _authorised(w)
    api = {"Authorization": f"Bearer {cd.tokens['access_token']}", "x-version": "v1"}
    seen = []
    for _ in range(12):
        r = w["client"].get("/customers/containers", headers=api)
        assert r.status_code == 200
        seen.append(int(r.headers["X-RateLimit-Remaining"]))
    assert seen == list(range(11, -1, -1))
    over = w["client"].get("/customers/containers", headers=api)
    assert over.status_code == 429 and over.json()["exveErrorId"] == "CU-429"
    assert 0 < int(over.headers["Retry-After"]) <= 86_400
    # a second process on the same database counts in the same place
    again = create_app(w["services"])
    with TestClient(again) as other:
        assert other.get("/customers/containers", headers=api).status_code == 429
    w["clock"].advance(timedelta(days=1, seconds=1))
    r = w["client"].get("/customers/containers", headers=api)
    assert r.status_code == 401  # the access token (1 h) expired meanwhile
    cd.refresh()
    assert w["client"].get("/customers/containers", headers=cd._headers()).status_code == 200


def test_only_customers_have_cardata_clients(world: dict[str, Any]) -> None:
    w = world
    r = w["client"].post(
        "/v1/me/cardata/clients",
        json={"name": "x", "scopes": ["cardata:api:read"]},
        headers=_me(w, "desk"),
    )
    assert r.status_code == 403 and "role customer" in r.text
    assert w["client"].get("/v1/me/cardata/clients", headers=_me(w, "bob")).json() == []


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
