"""Vehicle reads over HTTP on SQLite and PostgreSQL with the shipped policy (SPEC U3,
P6).

- A vehicle-only read is audited with the subject the engine resolved (the vehicle's user at the
  time), pseudonymised, so a partner paging through vehicles of many owners trips the
  distinct-subjects-per-hour alert.
- A pseudonymised answer (development_partners: times coarsened to a day) carries no exact time
  and no raw id; a vehicle-linked answer (after_sales_service) carries the vehicle's id but no id
  that leads to a customer (customer, usage period, fleet).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, select

from carprivacy.adapters.db.tables.access import audit_log
from carprivacy.bootstrap import Services, bootstrap
from carprivacy.config import Settings
from carprivacy.domain.master import ContactDetails
from carprivacy.domain.vehicle_usage import UsageKind
from carprivacy.entrypoints.api.app import create_app
from carprivacy.services.audit.trail import AuditQuery

TOKEN = "vehicle-reads-admin-token-vvvvvvvvvvv"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
N_OWNERS = 5
THRESHOLD = 3  # partner: distinct subjects per hour before an alert (rules file below)
START = datetime(2024, 3, 5, 13, 37, 41, 123456, tzinfo=UTC)  # nowhere near midnight
ISO = re.compile(r"\d{4}-\d{2}-\d{2}T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?")


def _contact(i: int) -> ContactDetails:
    return ContactDetails(
        f"Eigenaar{i}", "Eva", "Oudegracht", str(i + 1), "3511 AB", "Utrecht", "NL", None, None
    )


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> Iterator[tuple[TestClient, Services, dict[str, Any]]]:
    rules = tmp_path / "rules.yaml"
    rules.write_text(f"thresholds: {{partner: {THRESHOLD}}}\n")
    settings = Settings(
        data_dir=tmp_path,
        admin_token=SecretStr(TOKEN),
        argon2_time_cost=1,
        argon2_memory_kib=8,
        monitoring_rules_file=rules,
    )
    container = bootstrap(settings, engine=engine)
    svc = container.master
    fleet = svc.create_fleet("Lease B.V.", "NL")
    owners, vehicles, usages = [], [], []
    for i in range(N_OWNERS):
        owner = svc.register_customer(_contact(i))
        vehicle = svc.register_vehicle(f"WMW31DH0402V{i:05d}", "MINI Cooper SE", "green")
        usages.append(svc.add_usage(vehicle.id, UsageKind.OWNER, START, customer_id=owner.id).id)
        owners.append(owner.id)
        vehicles.append(vehicle.id)
    usages.append(svc.add_usage(vehicles[0], UsageKind.FLEET, START, fleet_id=fleet.id).id)
    with TestClient(create_app(container)) as client:
        tokens = {
            "partner": _machine(client, "catena", "partner", "catena_x_partners"),
            "dealer": _person(client, "garage", "dealer", "dealers"),
        }
        ids = {"owners": owners, "vehicles": vehicles, "usages": usages, "fleet": fleet.id}
        yield client, container, {"tokens": tokens, **ids}
    container.close()


def _machine(client: TestClient, cid: str, role: str, org: str) -> str:
    body = {"id": cid, "name": cid, "kind": "machine", "role": role, "organisation": org}
    r = client.post("/v1/callers", json={**body, "generate_secret": True}, headers=ADMIN)
    assert r.status_code == 201, r.text
    form = {
        "grant_type": "client_credentials",
        "client_id": cid,
        "client_secret": r.json()["client_secret"],
    }
    t = client.post("/v1/oauth/token", data=form)
    assert t.status_code == 200, t.text
    return str(t.json()["access_token"])


def _person(client: TestClient, cid: str, role: str, org: str) -> str:
    body = {"id": cid, "name": cid, "kind": "person", "role": role, "organisation": org}
    r = client.post("/v1/callers", json={**body, "password": "vehicle passphrase"}, headers=ADMIN)
    assert r.status_code == 201, r.text
    t = client.post("/v1/auth/login", json={"login": cid, "password": "vehicle passphrase"})
    assert t.status_code == 200, t.text
    return str(t.json()["access_token"])


def _as(token: str, purpose: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "X-Purpose": purpose}


def _refs(engine: Engine, caller_id: str) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.outcome, audit_log.c.subject_ref)
            .where(audit_log.c.caller_id == caller_id)
            .order_by(audit_log.c.seq)
        )
        return [(r.outcome, r.subject_ref) for r in rows]


def test_vehicle_reads_are_audited_with_the_owner_and_trip_the_subjects_alert(
    world: tuple[TestClient, Services, dict[str, Any]], engine: Engine
) -> None:
    client, container, w = world
    headers = _as(w["tokens"]["partner"], "development_partners")
    for vehicle in w["vehicles"]:
        r = client.get(f"/v1/vehicles/{vehicle}", headers=headers)
        assert r.status_code == 200, r.text
    expected = [container.audit.subject_ref(o) for o in w["owners"]]
    assert _refs(engine, "catena") == [("allow", ref) for ref in expected]
    assert len(set(expected)) == N_OWNERS and "" not in expected
    alerts = [a for a in container.monitoring.alerts() if a.caller_id == "catena"]
    assert [(a.rule.value, a.count, a.threshold) for a in alerts] == [
        ("subjects_per_hour", THRESHOLD + 1, THRESHOLD)
    ]


def test_a_vehicle_list_page_is_one_entry_naming_every_owner(
    world: tuple[TestClient, Services, dict[str, Any]], engine: Engine
) -> None:
    client, container, w = world
    r = client.get("/v1/vehicles", headers=_as(w["tokens"]["partner"], "development_partners"))
    assert r.status_code == 200 and len(r.json()["items"]) == N_OWNERS, r.text
    # U3: one entry for the page, naming every owner it released
    (entry,) = container.audit.find(AuditQuery(caller_id="catena"))
    assert entry.outcome == "allow" and len(entry.vehicle_refs()) == N_OWNERS
    assert set(entry.subject_refs()) == {container.audit.subject_ref(o) for o in w["owners"]}


def _raw_ids(w: dict[str, Any]) -> list[str]:
    return [*w["owners"], *w["vehicles"], *w["usages"], w["fleet"]]


def _times(body: object) -> list[datetime]:
    found = ISO.findall(str(body))
    return [datetime.fromisoformat(t.replace("Z", "+00:00")) for t in found]


@pytest.mark.parametrize("path", ["/v1/vehicles", "/v1/vehicles/{v}", "/v1/vehicles/{v}/usages"])
def test_pseudonymised_answers_have_day_times_and_no_raw_ids(
    world: tuple[TestClient, Services, dict[str, Any]], path: str
) -> None:
    client, _, w = world
    url = path.format(v=w["vehicles"][0])
    r = client.get(url, headers=_as(w["tokens"]["partner"], "development_partners"))
    assert r.status_code == 200, r.text
    leaked = [i for i in _raw_ids(w) if i in r.text]
    assert leaked == []
    times = _times(r.json())
    assert times  # the answer has times (created_at, start): all of them coarsened to a day
    day = timedelta(days=1)
    assert [t for t in times if (t - datetime(1970, 1, 1, tzinfo=UTC)) % day] == []
    if path.endswith("usages"):
        (owner,) = [u for u in r.json() if u["kind"] == "owner"]
        (fleet,) = [u for u in r.json() if u["kind"] == "fleet"]
        assert owner["id"].startswith("ps_") and owner["customer_id"].startswith("ps_")
        assert fleet["fleet_id"].startswith("ps_")
        assert owner["start"].startswith("2024-03-05T00:00:00")


def test_vehicle_linked_usages_keep_the_vehicle_and_drop_customer_links(
    world: tuple[TestClient, Services, dict[str, Any]],
) -> None:
    client, _, w = world
    vehicle = w["vehicles"][0]
    r = client.get(
        f"/v1/vehicles/{vehicle}/usages",
        headers=_as(w["tokens"]["dealer"], "after_sales_service"),
    )
    assert r.status_code == 200, r.text
    usages = r.json()
    assert len(usages) == 2
    for usage in usages:
        assert usage["vehicle_id"] == vehicle
        assert not {"id", "customer_id", "fleet_id"} & set(usage)
    leaked = [i for i in _raw_ids(w) if i in r.text and i != vehicle]
    assert leaked == []
