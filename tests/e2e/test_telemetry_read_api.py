"""Telemetry read back through the gate over HTTP, on SQLite and PostgreSQL (SPEC U1-U3, R1, I2).

One vehicle's week of telemetry, an owner change in the middle and a fleet period at the end:
the owners, a dealer, an R&D partner and the fleet operator read the same vehicle and each sees
the form the policy gives them; values past their retention never come back; cursor pages
neither repeat nor skip; NDJSON and CSV stream the same values as the pages.
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
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from sqlalchemy import Engine, update

from carprivacy.adapters.db.tables.telemetry import telemetry
from carprivacy.bootstrap import Services, bootstrap
from carprivacy.config import Settings
from carprivacy.domain.master import ContactDetails
from carprivacy.domain.vehicle_usage import UsageKind
from carprivacy.entrypoints.api.app import create_app

TOKEN = "telemetry-read-admin-token-tttttttttt"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
T0 = NOW - timedelta(days=7)  # first owner from here
T1 = NOW - timedelta(days=4)  # owner change
T2 = NOW - timedelta(days=2)  # the car joins a lease fleet (the owner keeps it)
HOURS = 7 * 24 - 1
SIGNALS = {
    "Vehicle.TraveledDistance": lambda h: 1000.0 + h,  # vehicle_status (mileage)
    "Vehicle.Service.DistanceToService": lambda h: 20000 - h,  # maintenance_service
    "Vehicle.Speed": lambda h: float(h % 120),  # position_movement: sensitive (sealed)
}
VIN = "WMW31DH0402R00001"


def _contact(name: str) -> ContactDetails:
    return ContactDetails(name, "Eva", "Oudegracht", "1", "3511 AB", "Utrecht", "NL", None, None)


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> Iterator[tuple[TestClient, Services, dict[str, Any]]]:
    settings = Settings(
        data_dir=tmp_path, admin_token=SecretStr(TOKEN), argon2_time_cost=1, argon2_memory_kib=8
    )
    container = bootstrap(settings, engine=engine)
    m = container.master
    first, second = m.register_customer(_contact("Eerste")), m.register_customer(_contact("Twee"))
    fleet = m.create_fleet("Lease B.V.", "NL")
    vehicle = m.register_vehicle(VIN, "MINI Cooper SE", "green")
    m.add_usage(vehicle.id, UsageKind.OWNER, T0, customer_id=first.id)
    m.add_usage(vehicle.id, UsageKind.OWNER, T1, customer_id=second.id)  # closes the first's
    m.add_usage(vehicle.id, UsageKind.FLEET, T2, fleet_id=fleet.id)
    m.conclude_contract(first.id, vehicle.id, T0 - timedelta(days=1), ["teleservices"])
    m.conclude_contract(second.id, vehicle.id, T1, ["teleservices"])
    records = [
        {"signal": s, "value": f(h), "ts": (T0 + timedelta(hours=h, minutes=7)).isoformat()}
        for h in range(HOURS)
        for s, f in SIGNALS.items()
    ]
    result = container.ingest.ingest(records, source="http", vehicle_vin=VIN, received_at=NOW)
    assert result.accepted == len(records), [s for s in result.statuses if s.errors][:3]
    with TestClient(create_app(container)) as client:
        tokens = {
            "first": _person(client, "first", "customer", "mini_nl", subject_id=first.id),
            "second": _person(client, "second", "customer", "mini_nl", subject_id=second.id),
            "dealer": _person(client, "garage", "dealer", "dealers"),
            "fleet": _person(client, "fm", "fleet_manager", "fleet_operators", fleet_id=fleet.id),
            "partner": _machine(client, "catena", "partner", "catena_x_partners"),
            "rnd": _person(client, "rnd", "rnd_analyst", "mini_ag_staff"),
        }
        ids = {"first": first.id, "second": second.id, "vehicle": vehicle.id, "fleet": fleet.id}
        yield client, container, {"tokens": tokens, **ids}
    container.close()


def _person(client: TestClient, cid: str, role: str, org: str, **extra: str) -> str:
    body = {"id": cid, "name": cid, "kind": "person", "role": role, "organisation": org, **extra}
    r = client.post("/v1/callers", json={**body, "password": "telemetry passphrase"}, headers=ADMIN)
    assert r.status_code == 201, r.text
    t = client.post("/v1/auth/login", json={"login": cid, "password": "telemetry passphrase"})
    assert t.status_code == 200, t.text
    return str(t.json()["access_token"])


def _machine(client: TestClient, cid: str, role: str, org: str) -> str:
    body = {"id": cid, "name": cid, "kind": "machine", "role": role, "organisation": org}
    r = client.post("/v1/callers", json={**body, "generate_secret": True}, headers=ADMIN)
    assert r.status_code == 201, r.text
    form = {"grant_type": "client_credentials", "client_id": cid}
    t = client.post("/v1/oauth/token", data={**form, "client_secret": r.json()["client_secret"]})
    assert t.status_code == 200, t.text
    return str(t.json()["access_token"])


def _as(token: str, purpose: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "X-Purpose": purpose}


def _all(client: TestClient, url: str, headers: dict[str, str], **params: Any) -> list[dict]:
    """Every page of a read, following next_cursor."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(1000):
        query = {**params, **({"cursor": cursor} if cursor else {})}
        r = client.get(url, headers=headers, params=query)
        assert r.status_code == 200, r.text
        items.extend(r.json()["items"])
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the cursor never ended")


def _ts(item: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(item["ts"]).replace("Z", "+00:00"))


def test_each_caller_sees_the_form_the_policy_gives_it(
    world: tuple[TestClient, Services, dict[str, Any]],
) -> None:
    client, _, w = world
    url = f"/v1/vehicles/{w['vehicle']}/telemetry"
    t = w["tokens"]
    raw = {w["first"], w["second"], w["fleet"]}

    # owners: identified, their own time only (the owner change splits the history)
    first = _all(client, url, _as(t["first"], "contract_performance"), limit=200)
    second = _all(client, url, _as(t["second"], "contract_performance"), limit=200)
    assert first and second
    assert {i["subject_id"] for i in first} == {w["first"]}
    assert {i["subject_id"] for i in second} == {w["second"]}
    assert max(_ts(i) for i in first) < T1 <= min(_ts(i) for i in second)
    assert len(first) + len(second) == HOURS * len(SIGNALS)
    speeds = [i for i in first if i["signal"] == "Vehicle.Speed"]
    assert speeds and all(isinstance(i["value"], float) for i in speeds)  # decrypted
    assert {i["vehicle_id"] for i in first} == {w["vehicle"]}

    # dealer: vehicle-linked, no identity, no position data (after_sales_service categories)
    dealer = _all(client, url, _as(t["dealer"], "after_sales_service"), limit=500)
    assert dealer and {i["vehicle_id"] for i in dealer} == {w["vehicle"]}
    assert all("subject_id" not in i for i in dealer)
    assert {i["signal"] for i in dealer} == {
        "Vehicle.TraveledDistance",
        "Vehicle.Service.DistanceToService",
    }
    assert len(dealer) == HOURS * 2

    # R&D partner: pseudonymised ids, times coarsened to the day (development_partners)
    partner = client.get(
        url, headers=_as(t["partner"], "development_partners"), params={"limit": 50}
    )
    assert partner.status_code == 200, partner.text
    items = partner.json()["items"]
    assert items and not [x for x in raw | {w["vehicle"]} if x in partner.text]
    assert all(i["vehicle_id"].startswith("ps_") for i in items)
    assert all(_ts(i) == _ts(i).replace(hour=0, minute=0) for i in items)
    # mini_ag R&D staff: pseudonymised, times to the hour (product_development)
    rnd = client.get(url, headers=_as(t["rnd"], "product_development"), params={"limit": 50})
    assert rnd.status_code == 200, rnd.text
    assert rnd.json()["items"] and w["vehicle"] not in rnd.text
    assert all(_ts(i).minute == 0 for i in rnd.json()["items"])

    # fleet operator: vehicle-linked, only the time the vehicle is in its fleet
    fleet = _all(client, url, _as(t["fleet"], "fleet_operation"), limit=500)
    assert fleet and min(_ts(i) for i in fleet) >= T2
    assert all("subject_id" not in i for i in fleet)
    in_fleet = sum(1 for h in range(HOURS) if T0 + timedelta(hours=h, minutes=7) >= T2)
    assert len(fleet) == in_fleet * 2  # speed is not among the fleet operators' allowed fields
    assert "Vehicle.Speed" not in {i["signal"] for i in fleet}


def test_a_subjects_read_gives_their_own_time_and_refuses_others(
    world: tuple[TestClient, Services, dict[str, Any]],
) -> None:
    client, _, w = world
    t = w["tokens"]
    mine = _all(
        client, f"/v1/customers/{w['first']}/telemetry", _as(t["first"], "contract_performance")
    )
    assert mine and {i["subject_id"] for i in mine} == {w["first"]}
    assert len(mine) == sum(1 for h in range(HOURS) if T0 + timedelta(hours=h) < T1) * 3
    other = client.get(
        f"/v1/customers/{w['second']}/telemetry", headers=_as(t["first"], "contract_performance")
    )
    assert other.status_code == 403 and "caller.not_own_data" in other.text
    # vehicle-linked data is never reached through a person
    dealer = client.get(
        f"/v1/customers/{w['second']}/telemetry", headers=_as(t["dealer"], "after_sales_service")
    )
    assert dealer.status_code == 403 and "form.vehicle_linked" in dealer.text


def test_an_unknown_id_and_a_forbidden_one_answer_alike(
    world: tuple[TestClient, Services, dict[str, Any]],
) -> None:
    """U3, issue of existence oracles: whether a vehicle or person exists, or has values in a
    period, is never told to a caller who may not read them; within the caller's scope, another
    person's or fleet's time is left out, not refused."""
    client, container, w = world
    t = w["tokens"]
    m = container.master
    stranger = m.register_customer(_contact("Derde"))
    other_fleet = m.create_fleet("Andere Lease B.V.", "NL")
    t3 = _person(client, "third", "customer", "mini_nl", subject_id=stranger.id)
    fm2 = _person(client, "fm2", "fleet_manager", "fleet_operators", fleet_id=other_fleet.id)
    vehicle, unknown = f"/v1/vehicles/{w['vehicle']}/telemetry", "/v1/vehicles/nope/telemetry"
    busy = {"from": T0.isoformat(), "to": NOW.isoformat()}
    empty = {"from": (T0 - timedelta(days=30)).isoformat(), "to": T0.isoformat()}

    def answer(url: str, headers: dict[str, str], params: dict[str, str]) -> tuple[int, Any]:
        r = client.get(url, headers=headers, params=params)
        return r.status_code, r.json()

    for headers, rule in (
        (_as(t3, "contract_performance"), "caller.not_own_data"),
        (_as(fm2, "fleet_operation"), "fleet.not_member"),
    ):
        with_values = answer(vehicle, headers, busy)
        assert with_values[0] == 403 and rule in json.dumps(with_values[1])
        assert answer(vehicle, headers, empty) == with_values
        assert answer(unknown, headers, busy) == with_values
        assert answer(unknown, headers, empty) == with_values

    # within the scope: the first owner's read of the second owner's time is empty, not refused
    after_sale = {"from": T1.isoformat(), "to": NOW.isoformat()}
    mine = answer(vehicle, _as(t["first"], "contract_performance"), after_sale)
    assert mine == (200, {"items": [], "next_cursor": None, "limit": 100})
    # the fleet's manager reads the time before the fleet as an empty period, not refused
    before = {"from": T0.isoformat(), "to": T2.isoformat()}
    assert answer(vehicle, _as(t["fleet"], "fleet_operation"), before)[0] == 200

    # vehicle-linked purposes never reach through a person, whoever it is and whatever is held
    dealer = _as(t["dealer"], "after_sales_service")
    known = answer(f"/v1/customers/{w['second']}/telemetry", dealer, busy)
    assert known[0] == 403 and "form.vehicle_linked" in json.dumps(known[1])
    assert answer(f"/v1/customers/{w['second']}/telemetry", dealer, empty) == known
    assert answer(f"/v1/customers/{stranger.id}/telemetry", dealer, busy) == known
    assert answer("/v1/customers/nope/telemetry", dealer, busy) == known


def test_values_past_their_retention_are_never_returned(
    world: tuple[TestClient, Services, dict[str, Any]], engine: Engine
) -> None:
    client, _, w = world
    cut = T0 + timedelta(days=2)
    with engine.begin() as conn:
        conn.execute(
            update(telemetry)
            .where(telemetry.c.ts < cut)
            .values(expires_at=NOW - timedelta(hours=1))
        )
    items = _all(
        client,
        f"/v1/vehicles/{w['vehicle']}/telemetry",
        _as(w["tokens"]["first"], "contract_performance"),
        limit=500,
    )
    assert items and min(_ts(i) for i in items) >= cut
    r = client.get(
        f"/v1/vehicles/{w['vehicle']}/telemetry",
        headers=_as(w["tokens"]["first"], "contract_performance"),
        params={"format": "ndjson", "to": cut.isoformat()},
    )
    assert r.status_code == 200 and r.text == ""


def test_period_and_signals_select_and_bad_input_names_the_field(
    world: tuple[TestClient, Services, dict[str, Any]],
) -> None:
    client, _, w = world
    url = f"/v1/vehicles/{w['vehicle']}/telemetry"
    h = _as(w["tokens"]["second"], "contract_performance")
    start, end = T1 + timedelta(hours=5), T1 + timedelta(hours=15)
    params = {"from": start.isoformat(), "to": end.isoformat(), "signals": "Vehicle.Speed"}
    items = _all(client, url, h, **params)
    assert len(items) == 10 and {i["signal"] for i in items} == {"Vehicle.Speed"}
    assert all(start <= _ts(i) < end for i in items)
    for bad, field in (
        ({"signals": "Vehicle.Nope"}, "signals"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"limit": 0}, "limit"),
        ({"from": end.isoformat(), "to": start.isoformat()}, "to"),
    ):
        r = client.get(url, headers=h, params=bad)
        assert r.status_code == 422 and field in r.text, (bad, r.text)
    r = client.get(
        url,
        headers=_as(w["tokens"]["dealer"], "after_sales_service"),
        params={"signals": "Vehicle.Speed"},
    )
    assert r.status_code == 403 and "category.not_allowed" in r.text


def test_ndjson_and_csv_stream_the_values_of_the_pages(
    world: tuple[TestClient, Services, dict[str, Any]],
) -> None:
    client, _, w = world
    url = f"/v1/vehicles/{w['vehicle']}/telemetry"
    h = _as(w["tokens"]["dealer"], "after_sales_service")
    pages = _all(client, url, h, limit=37)
    nd = client.get(url, headers=h, params={"format": "ndjson"})
    assert nd.status_code == 200 and nd.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in nd.text.splitlines()]
    assert lines == pages
    c = client.get(url, headers=h, params={"format": "csv"})
    assert c.status_code == 200 and c.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(c.text)))
    assert len(rows) == len(pages)
    assert [(r["ts"][:16], r["signal"]) for r in rows] == [
        (p["ts"][:16], p["signal"]) for p in pages
    ]
    assert {r["subject_id"] for r in rows} == {""}


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(limit=st.integers(1, 120), owner=st.sampled_from(["first", "second", "fleet"]))
def test_cursor_pages_neither_repeat_nor_skip(
    world: tuple[TestClient, Services, dict[str, Any]], limit: int, owner: str
) -> None:
    client, _, w = world
    purpose = "fleet_operation" if owner == "fleet" else "contract_performance"
    url = f"/v1/vehicles/{w['vehicle']}/telemetry"
    h = _as(w["tokens"][owner], purpose)
    paged = _all(client, url, h, limit=limit)
    whole = [
        json.loads(x)
        for x in client.get(url, headers=h, params={"format": "ndjson"}).text.splitlines()
    ]
    keys = [(i["ts"], i["signal"]) for i in paged]
    assert len(keys) == len(set(keys)) and paged == whole
