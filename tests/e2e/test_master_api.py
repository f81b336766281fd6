"""The master data API over HTTP (SPEC I4, P1): admin credential, create/read/update/list, 422
naming each bad field, 404 for unknown ids, nothing half-written. The API tests run on the
in-memory bootstrap; those about what the store keeps (``sql_client``) on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, func, select

from carprivacy.adapters.db.tables.master import contracts, customers, vehicles
from carprivacy.bootstrap import bootstrap, load_policy
from carprivacy.config import Settings
from carprivacy.domain.policy import Policy
from carprivacy.entrypoints.api.app import create_app
from carprivacy.testing import bootstrap_in_memory

TOKEN = "test-admin-token-kkkkkkkkkkkkkkkkk"
AUTH = {"Authorization": f"Bearer {TOKEN}"}  # the administrator manages master data ...
# ... but reads no personal data: reads name a purpose and are decided by the engine.
# Here a privacy officer reads for legal claims (Art. 6(1)(f), notice G); filled per test.
READ: dict[str, str] = {}
CUSTOMER = {
    "surname": "Bakker",
    "first_name": "Femke",
    "street": "Prinsengracht",
    "house_number": "263",
    "postal_code": "1016 GV",
    "city": "Amsterdam",
    "country": "NL",
    "email": "femke.bakker@example.nl",
}
VEHICLE = {
    "vin": "WMW31DH0402T56789",
    "model": "MINI Cooper SE",
    "colour": "Enigmatic Black",
    "equipment": ["harman_kardon", "head_up_display"],
    "end_of_life": "2041-12-31",
}


def settings_for(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path, admin_token=SecretStr(TOKEN), argon2_time_cost=1, argon2_memory_kib=8
    )


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(Settings())  # the shipped policy, parsed once per module


@pytest.fixture
def sql_client(engine: Engine, tmp_path: Path, policy: Policy) -> Iterator[TestClient]:
    """The app on the SQL store (SQLite and PostgreSQL), for tests of what it keeps."""
    container = bootstrap(settings_for(tmp_path), engine=engine, policy=policy)  # real cipher
    with _officer(TestClient(create_app(container))) as c:
        yield c


@pytest.fixture
def client(tmp_path: Path, policy: Policy) -> Iterator[TestClient]:
    """The app on the in-memory fakes: what these tests check is the API, not the store."""
    with _officer(
        TestClient(create_app(bootstrap_in_memory(settings_for(tmp_path), policy=policy)))
    ) as c:
        yield c


@contextmanager
def _officer(client: TestClient) -> Iterator[TestClient]:
    """``client`` started, with a privacy officer whose token is in READ."""
    with client as c:
        officer = {
            "id": "officer",
            "name": "Privacy Officer",
            "kind": "person",
            "role": "privacy_officer",
            "organisation": "mini_nl",
            "password": "officer passphrase",
        }
        assert c.post("/v1/callers", json=officer, headers=AUTH).status_code == 201
        login = {"login": "officer", "password": "officer passphrase"}
        token = c.post("/v1/auth/login", json=login).json()["access_token"]
        READ.clear()
        READ.update({"Authorization": f"Bearer {token}", "X-Purpose": "legal_claims"})
        yield c


def _count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _post(client: TestClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = client.post(path, json=body, headers=AUTH)
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


def test_every_route_needs_the_admin_token(client: TestClient) -> None:
    assert client.get("/v1/customers").status_code == 401
    assert client.post("/v1/vehicles", json=VEHICLE).status_code == 401
    bad = {"Authorization": "Bearer wrong"}
    assert client.get("/v1/contracts", headers=bad).status_code == 401


def test_customer_create_read_update_list(client: TestClient) -> None:
    created = _post(client, "/v1/customers", CUSTOMER)
    # a write answers what the caller sent (and the new id), never more
    assert created["surname"] == "Bakker" and "phone" not in created
    cid = created["id"]
    assert client.get(f"/v1/customers/{cid}", headers=AUTH).status_code == 422  # no purpose
    got = client.get(f"/v1/customers/{cid}", headers=READ).json()
    assert got == {**created, "phone": None}
    r = client.patch(f"/v1/customers/{cid}", json={"city": "Haarlem"}, headers=AUTH)
    assert r.status_code == 200 and r.json()["city"] == "Haarlem"
    assert "email" not in r.json()
    assert client.get(f"/v1/customers/{cid}", headers=READ).json()["email"] == CUSTOMER["email"]
    for _ in range(3):
        _post(client, "/v1/customers", CUSTOMER)
    page = client.get("/v1/customers?offset=1&limit=2", headers=READ).json()
    assert (page["total"], page["offset"], page["limit"], len(page["items"])) == (4, 1, 2, 2)
    assert client.get("/v1/customers?limit=0", headers=READ).status_code == 422


def test_bad_input_gets_422_naming_each_field_and_writes_nothing(
    sql_client: TestClient, engine: Engine
) -> None:
    client = sql_client  # what it tests is the SQL store
    body = {**CUSTOMER, "country": "Netherlands", "email": "not-an-email", "surname": ""}
    r = client.post("/v1/customers", json=body, headers=AUTH)
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"country", "email", "surname"}
    assert "Netherlands" not in str([e["message"] for e in r.json()["errors"]])
    r = client.post("/v1/vehicles", json={**VEHICLE, "vin": "WMW31DH0402T5678O"}, headers=AUTH)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "vin"
    r = client.post("/v1/vehicles", json={**VEHICLE, "colour_code": 3}, headers=AUTH)
    # an unexpected field is named by place, not by its name (a name can be personal data)
    assert r.status_code == 422 and r.json()["errors"][0]["rule"] == "extra_forbidden"
    assert "colour_code" not in r.text
    assert _count(engine, customers) == 0 and _count(engine, vehicles) == 0


def test_unknown_ids_are_404(client: TestClient) -> None:
    unknown = "6f1c2b0e-0000-4000-8000-000000000000"
    for path in ("customers", "vehicles", "contracts", "fleets", "payments"):
        assert client.get(f"/v1/{path}/{unknown}", headers=READ).status_code == 404
    r = client.patch(f"/v1/vehicles/{unknown}", json={"colour": "Red"}, headers=AUTH)
    assert r.status_code == 404


def test_vehicle_duplicate_vin_is_a_conflict(client: TestClient) -> None:
    v = _post(client, "/v1/vehicles", VEHICLE)
    assert v["equipment"] == VEHICLE["equipment"] and v["end_of_life"] == "2041-12-31"
    assert client.post("/v1/vehicles", json=VEHICLE, headers=AUTH).status_code == 409
    r = client.patch(f"/v1/vehicles/{v['id']}", json={"end_of_life": None}, headers=AUTH)
    assert r.status_code == 200 and r.json()["end_of_life"] is None


def test_contract_for_an_unknown_vehicle_is_refused_and_leaves_no_row(
    sql_client: TestClient, engine: Engine
) -> None:
    client = sql_client  # what it tests is the SQL store
    c = _post(client, "/v1/customers", CUSTOMER)
    body = {
        "customer_id": c["id"],
        "vehicle_id": "6f1c2b0e-0000-4000-8000-000000000000",
        "start": "2025-01-01T00:00:00Z",
        "services": ["ecall", "rtti"],
    }
    r = client.post("/v1/contracts", json=body, headers=AUTH)
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"field": "vehicle_id", "rule": "exists", "message": "no such vehicle"}
    ]
    assert _count(engine, contracts) == 0


def test_contract_lifecycle_with_services_and_termination(client: TestClient) -> None:
    c = _post(client, "/v1/customers", CUSTOMER)
    v = _post(client, "/v1/vehicles", VEHICLE)
    body = {
        "customer_id": c["id"],
        "vehicle_id": v["id"],
        "start": "2025-01-01T10:00:00+01:00",
        "services": ["ecall", "teleservices", "personal_assistant"],
    }
    contract = _post(client, "/v1/contracts", body)
    assert contract["start"].startswith("2025-01-01T09:00:00")  # stored as UTC
    r = client.patch(
        f"/v1/contracts/{contract['id']}", json={"end": "2026-01-01T00:00:00Z"}, headers=AUTH
    )
    assert r.status_code == 200 and r.json()["end"].startswith("2026-01-01T00:00:00")
    r = client.patch(
        f"/v1/contracts/{contract['id']}", json={"services": ["warp_drive"]}, headers=AUTH
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "services.0"
    r = client.post("/v1/contracts", json={**body, "start": "2025-01-01T10:00:00"}, headers=AUTH)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "start"
    listed = client.get(f"/v1/customers/{c['id']}/contracts", headers=READ).json()
    assert [x["id"] for x in listed] == [contract["id"]]


def test_owner_change_and_fleet_through_the_api(client: TestClient) -> None:
    anna = _post(client, "/v1/customers", CUSTOMER)
    bram = _post(client, "/v1/customers", {**CUSTOMER, "first_name": "Bram"})
    v = _post(client, "/v1/vehicles", VEHICLE)
    usages = f"/v1/vehicles/{v['id']}/usages"
    _post(
        client,
        usages,
        {"kind": "owner", "customer_id": anna["id"], "start": "2024-01-01T00:00:00Z"},
    )
    _post(
        client,
        usages,
        {"kind": "owner", "customer_id": bram["id"], "start": "2025-06-01T00:00:00Z"},
    )
    periods = client.get(usages, headers=READ).json()
    assert [p["end"] is None for p in periods] == [False, True]
    who = client.get(
        f"/v1/vehicles/{v['id']}/subject", params={"at": "2025-05-31T23:59:59Z"}, headers=READ
    ).json()
    assert who["customer_id"] == anna["id"] and who["basis"] == "owner"
    who = client.get(
        f"/v1/vehicles/{v['id']}/subject", params={"at": "2025-06-01T00:00:00Z"}, headers=READ
    ).json()
    assert who["customer_id"] == bram["id"]
    owned = client.get(f"/v1/customers/{bram['id']}/vehicles", headers=READ).json()
    assert [x["vin"] for x in owned] == [VEHICLE["vin"]]
    assert client.get(f"/v1/customers/{anna['id']}/vehicles", headers=READ).json() == []
    r = client.get(
        f"/v1/customers/{anna['id']}/vehicles", params={"at": "2025-01-01T00:00:00"}, headers=READ
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "at"
    history = client.get(f"/v1/customers/{anna['id']}/usages", headers=READ).json()
    assert [(h["kind"], h["end"] is None) for h in history] == [("owner", False)]
    r = client.post(
        usages,
        json={"kind": "owner", "customer_id": anna["id"], "start": "2024-06-01T00:00:00Z"},
        headers=AUTH,
    )
    assert r.status_code == 409
    fleet = _post(client, "/v1/fleets", {"name": "Athlon Car Lease", "country": "NL"})
    r = client.post(usages, json={"kind": "fleet", "start": "2025-01-01T00:00:00Z"}, headers=AUTH)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "fleet_id"
    _post(
        client, usages, {"kind": "fleet", "fleet_id": fleet["id"], "start": "2025-07-01T00:00:00Z"}
    )
    assert (
        client.get(f"/v1/fleets/{fleet['id']}", headers=READ).json()["name"] == "Athlon Car Lease"
    )


def test_accounts_per_controller(client: TestClient) -> None:
    c = _post(client, "/v1/customers", CUSTOMER)
    path = f"/v1/customers/{c['id']}/accounts"
    group = _post(
        client, path, {"controller": "mini_ag", "kind": "group_login", "login_id": "fb@x.nl"}
    )
    _post(client, path, {"controller": "mini_nl", "kind": "customer"})
    assert client.delete(f"/v1/accounts/{group['id']}", headers=AUTH).status_code == 204
    left = client.get(path, headers=READ).json()
    assert [a["controller"] for a in left] == ["mini_nl"]
    assert client.get(f"/v1/customers/{c['id']}", headers=READ).status_code == 200
    r = client.post(path, json={"controller": "acme", "kind": "customer"}, headers=AUTH)
    assert r.status_code == 422 and r.json()["errors"][0]["rule"] == "known_controller"


def test_payments_keep_cents_exactly(client: TestClient) -> None:
    c = _post(client, "/v1/customers", CUSTOMER)
    body = {
        "customer_id": c["id"],
        "amount": "19.90",
        "currency": "EUR",
        "booked_at": "2025-02-01T12:00:00Z",
        "method": {"kind": "sepa_debit", "details": "NL**RABO****0042"},
    }
    p = _post(client, "/v1/payments", body)
    assert p["amount"] == "19.90" and p["method"]["details"] == "NL**RABO****0042"
    r = client.post("/v1/payments", json={**body, "amount": "1.999"}, headers=AUTH)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "amount"
    assert client.get("/v1/payments", headers=READ).json()["total"] == 1
    mine = client.get(f"/v1/customers/{c['id']}/payments", headers=READ).json()
    assert [x["id"] for x in mine] == [p["id"]]


def test_openapi_documents_the_master_data_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for p in ("/v1/customers", "/v1/vehicles/{vehicle_id}/usages", "/v1/contracts/{contract_id}"):
        assert p in paths


def test_an_erased_customer_is_listed_without_contact_data(sql_client: TestClient) -> None:
    client = sql_client  # what it tests is the SQL store
    c = _post(client, "/v1/customers", CUSTOMER)
    keep = _post(client, "/v1/customers", {**CUSTOMER, "first_name": "Joost"})
    container = client.app.state.services  # type: ignore[attr-defined]
    container.cipher.destroy_key(f"subject:{c['id']}")
    got = client.get(f"/v1/customers/{c['id']}", headers=READ).json()
    assert got["erased"] is True and got["surname"] is None and got["email"] is None
    listed = client.get("/v1/customers", headers=READ).json()["items"]
    assert {x["id"]: x["erased"] for x in listed} == {c["id"]: True, keep["id"]: False}
    r = client.patch(f"/v1/customers/{c['id']}", json={"city": "Delft"}, headers=AUTH)
    assert r.status_code == 409


def test_an_unexpected_field_is_refused_without_repeating_its_name(client: TestClient) -> None:
    """A sender's own field name can be personal data (here a citizen service number)."""
    r = client.post("/v1/customers", json={**CUSTOMER, "bsn_123456782": "123456782"}, headers=AUTH)
    assert r.status_code == 422
    [error] = r.json()["errors"]
    assert (error["field"], error["rule"]) == ("*", "extra_forbidden")
    assert "123456782" not in r.text
