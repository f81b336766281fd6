"""A person's own data over HTTP, on SQLite and PostgreSQL (SPEC R1, U1-U3, I2).

Two owners of one vehicle (an owner change in the middle of a week of telemetry): the first is a
former customer (contract ended, car sold) who keeps the right of access; each reads what is held
about them and their own records without naming a purpose, never the other's; every such read is
audited under the access right; staff cannot use it; ``GET /v1/purposes`` lists what a caller may
use, and an unknown purpose is 422 listing those.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine

from carprivacy.bootstrap import Services, bootstrap
from carprivacy.config import Settings
from carprivacy.domain.decision_index import ACCESS_PURPOSE
from carprivacy.domain.master import ContactDetails
from carprivacy.domain.vehicle_usage import UsageKind
from carprivacy.entrypoints.api.app import create_app
from carprivacy.services.audit.trail import AuditQuery

TOKEN = "my-data-admin-token-mmmmmmmmmmmmmmmmm"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
T0 = NOW - timedelta(days=7)
T1 = NOW - timedelta(days=3)  # the first owner sells the car; their contract ends
VIN = "WMW31DH0402R00077"
PASSWORD = "my data passphrase"


def _contact(name: str, email: str) -> ContactDetails:
    return ContactDetails(name, "Eva", "Oudegracht", "1", "3511 AB", "Utrecht", "NL", email, None)


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> Iterator[tuple[TestClient, Services, dict[str, Any]]]:
    settings = Settings(
        data_dir=tmp_path, admin_token=SecretStr(TOKEN), argon2_time_cost=1, argon2_memory_kib=8
    )
    container = bootstrap(settings, engine=engine)
    m = container.master
    first = m.register_customer(_contact("Eerste", "eerste@example.nl"))
    second = m.register_customer(_contact("Tweede", "tweede@example.nl"))
    vehicle = m.register_vehicle(VIN, "MINI Cooper SE", "green")
    m.add_usage(vehicle.id, UsageKind.OWNER, T0, customer_id=first.id)
    m.add_usage(vehicle.id, UsageKind.OWNER, T1, customer_id=second.id)
    ended = m.conclude_contract(first.id, vehicle.id, T0 - timedelta(days=1), ["teleservices"])
    m.update_contract(ended.id, {"end": T1})
    m.conclude_contract(second.id, vehicle.id, T1, ["teleservices"])
    records = [
        {"signal": s, "value": v, "ts": (T0 + timedelta(hours=h, minutes=5)).isoformat()}
        for h in range(7 * 24 - 1)
        for s, v in (("Vehicle.TraveledDistance", 1000.0 + h), ("Vehicle.Speed", float(h % 90)))
    ]
    result = container.ingest.ingest(records, source="http", vehicle_vin=VIN, received_at=NOW)
    assert result.accepted == len(records)
    container.consent_ledger.give(_customer(first.id), first.id, "marketing_email", channel="app")
    container.consent_ledger.withdraw(
        _customer(first.id), first.id, "marketing_email", channel="portal"
    )
    with TestClient(create_app(container)) as client:
        tokens = {
            "first": _login(client, "first", "customer", "mini_nl", subject_id=first.id),
            "second": _login(client, "second", "customer", "mini_nl", subject_id=second.id),
            "desk": _login(client, "desk", "customer_service", "mini_nl"),
            "dealer": _login(client, "garage", "dealer", "dealers"),
        }
        ids = {"first": first.id, "second": second.id, "vehicle": vehicle.id, "ended": ended.id}
        yield client, container, {"tokens": tokens, **ids}
    container.close()


def _customer(subject: str) -> Any:
    from carprivacy.domain.access import Caller, CallerKind, Role

    return Caller(f"c-{subject}", CallerKind.PERSON, Role.CUSTOMER, "mini_nl", subject_id=subject)


def _login(client: TestClient, cid: str, role: str, org: str, **extra: str) -> str:
    body = {"id": cid, "name": cid, "kind": "person", "role": role, "organisation": org, **extra}
    r = client.post("/v1/callers", json={**body, "password": PASSWORD}, headers=ADMIN)
    assert r.status_code == 201, r.text
    t = client.post("/v1/auth/login", json={"login": cid, "password": PASSWORD})
    assert t.status_code == 200, t.text
    return str(t.json()["access_token"])


def _bearer(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


def test_a_former_customer_reads_what_is_held_and_their_records(
    world: tuple[TestClient, Services, dict[str, Any]],
) -> None:
    client, _, w = world
    me = _bearer(w["tokens"]["first"])
    # the contract ended: the contract purposes refuse the former customer's own record ...
    r = client.get(f"/v1/customers/{w['first']}", headers={**me, "X-Purpose": "customer_service"})
    assert r.status_code == 403 and "contract.required" in r.text
    # ... the right of access does not need one
    r = client.get("/v1/me/customer", headers=me)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == w["first"] and r.json()["surname"] == "Eerste"
    assert r.json()["email"] == "eerste@example.nl"

    contracts = client.get("/v1/me/contracts", headers=me).json()
    assert [c["id"] for c in contracts] == [w["ended"]]
    vehicles = client.get("/v1/me/vehicles", headers=me).json()
    assert [v["vin"] for v in vehicles] == [VIN]  # the car they sold: still their data
    usages = client.get("/v1/me/usages", headers=me).json()
    assert len(usages) == 1 and usages[0]["customer_id"] == w["first"]


def test_held_names_purposes_bases_controllers_recipients_and_retention(
    world: tuple[TestClient, Services, dict[str, Any]],
) -> None:
    client, container, w = world
    r = client.get("/v1/me/held", headers=_bearer(w["tokens"]["first"]))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["subject_id"] == w["first"]
    assert {c["id"] for c in body["controllers"]} == {"mini_nl", "mini_ag"}  # joint controllers
    cats = {c["id"]: c for c in body["categories"]}
    assert set(cats) == {c.id for c in container.policy.categories}
    held = {c for c, v in cats.items() if v["held"]}
    assert {"contact", "contract", "vehicle_general"} <= held and "account" not in held
    assert {"vehicle_status", "position_movement"} <= held  # the telemetry of their time
    assert "financial_transactions" not in held and "obfcm" not in held
    contract = cats["contract"]
    bases = {p["id"]: p["legal_basis"] for p in contract["purposes"]}
    assert bases["contract_conclusion"] == "contract" and bases["marketing_email"] == "consent"
    assert all(p["section"] for p in contract["purposes"])
    assert "dealers" in {x["id"] for x in contract["recipients"]}
    after_end = next(x for x in contract["retention"] if x["rule"] == "contract_after_end")
    assert after_end["period"] == "P1Y"
    until = datetime.fromisoformat(after_end["until"].replace("Z", "+00:00"))
    assert until.date() == (T1.replace(year=T1.year + 1)).date()  # ended + 1 year
    status = next(x for x in cats["vehicle_status"]["retention"] if x["anchor"] == "collected")
    assert status["period"] == "P4W" and status["until"] is None  # per value
    assert cats["contact"]["controllers"] == ["mini_nl"]


def test_telemetry_is_the_persons_own_time_identified_with_every_option(
    world: tuple[TestClient, Services, dict[str, Any]],
) -> None:
    client, _, w = world
    first, second = _bearer(w["tokens"]["first"]), _bearer(w["tokens"]["second"])
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        r = client.get("/v1/me/telemetry", headers=first, params=params)
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    times = [datetime.fromisoformat(i["ts"].replace("Z", "+00:00")) for i in items]
    assert items and max(times) < T1 <= min(
        datetime.fromisoformat(i["ts"].replace("Z", "+00:00"))
        for i in client.get("/v1/me/telemetry", headers=second, params={"limit": 1000}).json()[
            "items"
        ]
    )
    assert {i["subject_id"] for i in items} == {w["first"]}
    assert {i["signal"] for i in items} == {"Vehicle.TraveledDistance", "Vehicle.Speed"}
    assert all(i["vehicle_id"] == w["vehicle"] for i in items)  # identified: no pseudonym
    speeds = [i for i in items if i["signal"] == "Vehicle.Speed"]
    assert speeds and isinstance(speeds[0]["value"], float)  # sealed values decrypted

    r = client.get("/v1/me/telemetry", headers=first, params={"format": "ndjson"})
    lines = [json.loads(x) for x in r.text.splitlines()]
    assert r.status_code == 200 and len(lines) == len(items)
    r = client.get("/v1/me/telemetry", headers=first, params={"format": "csv"})
    assert len(list(csv.DictReader(io.StringIO(r.text)))) == len(items)
    signals = {"signals": "Vehicle.Speed"}
    r = client.get("/v1/me/telemetry", headers=first, params={**signals, "limit": 1000})
    assert len(r.json()["items"]) == len(speeds)


def test_consent_history_is_the_persons_own(
    world: tuple[TestClient, Services, dict[str, Any]],
) -> None:
    client, _, w = world
    r = client.get("/v1/me/consents", headers=_bearer(w["tokens"]["first"]))
    assert r.status_code == 200, r.text
    kinds = [e["kind"] for e in r.json()["entries"]]
    assert r.json()["subject_id"] == w["first"] and len(kinds) == 2
    r = client.get("/v1/me/consents", headers=_bearer(w["tokens"]["second"]))
    assert r.json()["entries"] == []
    r = client.get("/v1/me/consents?format=csv", headers=_bearer(w["tokens"]["first"]))
    assert len(list(csv.DictReader(io.StringIO(r.text)))) == 2


def test_no_one_reaches_another_persons_data(
    world: tuple[TestClient, Services, dict[str, Any]],
) -> None:
    client, container, w = world
    second = _bearer(w["tokens"]["second"])
    for part in ("customer", "contracts", "usages", "vehicles"):
        body = client.get(f"/v1/me/{part}", headers=second).json()
        text = json.dumps(body)
        assert w["first"] not in text and w["ended"] not in text, part
    # the access right names no one else: a path naming the other person is refused
    access = {**second, "X-Purpose": ACCESS_PURPOSE}
    for path in (f"/v1/customers/{w['first']}", f"/v1/customers/{w['first']}/telemetry"):
        r = client.get(path, headers=access)
        assert r.status_code == 403 and "caller.not_own_data" in r.text, path
    # staff and recipients cannot use the access right at all
    for who in ("desk", "dealer"):
        r = client.get("/v1/me/held", headers=_bearer(w["tokens"][who]))
        assert r.status_code == 403 and "caller.role" in r.text and "notice rights" in r.text
        assert client.get("/v1/me", headers=_bearer(w["tokens"][who])).json()["links"] == {}
    # every read above was decided and audited under the access right
    audited = container.audit.find(AuditQuery(caller_id="second", purpose=ACCESS_PURPOSE))
    assert audited and {e.outcome for e in audited} == {"allow", "deny"}


def test_purposes_are_discoverable_and_an_unknown_one_is_422(
    world: tuple[TestClient, Services, dict[str, Any]],
) -> None:
    client, container, w = world
    r = client.get("/v1/purposes", headers=_bearer(w["tokens"]["first"]))
    assert r.status_code == 200, r.text
    mine = {p["id"]: p for p in r.json()["purposes"]}
    assert ACCESS_PURPOSE in mine and "customer_service" in mine
    assert mine[ACCESS_PURPOSE]["section"] == "rights"
    assert "product_development" not in mine  # section C: not for customers
    assert all(p["section_title"] and p["categories"] for p in mine.values())
    dealer = client.get("/v1/purposes", headers=_bearer(w["tokens"]["dealer"])).json()
    ids = {p["id"] for p in dealer["purposes"]}
    assert "after_sales_service" in ids and ACCESS_PURPOSE not in ids
    assert ids <= {p.id for p in container.policy.purposes}

    url = f"/v1/vehicles/{w['vehicle']}/telemetry"
    r = client.get(url, headers=_bearer(w["tokens"]["dealer"], **{"X-Purpose": "nonsense"}))
    assert r.status_code == 422, r.text
    (error,) = r.json()["errors"]
    assert error["field"] == "purpose" and error["rule"] == "known_purpose"
    assert "after_sales_service" in error["message"] and "nonsense" not in error["message"]
    assert "customer_service" not in error["message"]  # only what this caller may use


def test_an_unknown_purpose_is_422_at_the_decision_point_and_for_staff_acting(
    world: tuple[TestClient, Services, dict[str, Any]],
) -> None:
    client, _, w = world
    dealer, desk = _bearer(w["tokens"]["dealer"]), _bearer(w["tokens"]["desk"])
    one = {"purpose": "nonsense", "categories": ["vehicle_general"], "vehicle_id": w["vehicle"]}
    r = client.post("/v1/decisions", json=one, headers=dealer)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "purpose"
    known = {**one, "purpose": "after_sales_service"}
    r = client.post("/v1/decisions", json={"requests": [known, one]}, headers=dealer)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "requests.1.purpose"
    # a declared purpose the caller may not use is still the engine's decision
    r = client.post("/v1/decisions", json={**one, "purpose": "product_development"}, headers=dealer)
    assert r.status_code == 200 and r.json()["rule"] == "category.not_allowed"
    r = client.get(
        f"/v1/subjects/{w['first']}/consent-state", headers={**desk, "X-Purpose": "nonsense"}
    )
    assert r.status_code == 422 and "customer_service" in r.json()["errors"][0]["message"]
