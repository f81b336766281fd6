"""``POST /v1/workshop/telemetry`` on SQLite and PostgreSQL (source
``workshop``; notice section G; SPEC C3, U1, I2).

A workshop caller uploads OBFCM read-outs for the cars it has in for service, naming the purpose.
The engine decides per vehicle and category first: a customer who refused OBFCM collection gets
nothing collected (not even quarantined), with the rule and article in the answer; other cars'
records are stored with source ``workshop``; a caller outside the purpose's recipients is 403.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, select
from tests.e2e.test_access_vehicle_reads import TOKEN, _person  # _person logs in as admin

from carprivacy.adapters.db.tables.access import audit_log
from carprivacy.bootstrap import Services, bootstrap
from carprivacy.config import Settings
from carprivacy.domain.master import ContactDetails
from carprivacy.domain.telemetry import PAYLOAD_WITHHELD
from carprivacy.domain.vehicle_usage import UsageKind
from carprivacy.entrypoints.api.app import create_app

VINS = ("WMW51DH0402W00001", "WMW51DH0402W00002")
PURPOSE = "obfcm_reporting"
DISTANCE = "Private.CarPrivacy.OBFCM.DistanceLifetime"
FUEL = "Private.CarPrivacy.OBFCM.FuelConsumedLifetime"


@pytest.fixture
def shop(engine: Engine, tmp_path: Path) -> Iterator[tuple[TestClient, Services, dict[str, Any]]]:
    settings = Settings(
        data_dir=tmp_path, admin_token=SecretStr(TOKEN), argon2_time_cost=1, argon2_memory_kib=8
    )
    container = bootstrap(settings, engine=engine)
    svc = container.master
    since = datetime.now(UTC) - timedelta(days=90)
    owners, vehicles = [], []
    for i, vin in enumerate(VINS):
        owner = svc.register_customer(
            ContactDetails(f"Klant{i}", "Sam", "Marktplein", "1", "3011 AA", "Rotterdam", "NL")
        )
        vehicle = svc.register_vehicle(vin, "MINI Cooper", "red")
        svc.add_usage(vehicle.id, UsageKind.OWNER, since, customer_id=owner.id)
        owners.append(owner.id)
        vehicles.append(vehicle.id)
    # the second owner refused OBFCM collection at the workshop (opt-out topic, notice G)
    container.subject_state.give(
        owners[1],
        "obfcm_refusal",
        at=since,
        by="workshop-desk",
        channel="workshop",
        vehicle_id=vehicles[1],  # a setting of one vehicle
    )
    with TestClient(create_app(container)) as client:
        tokens = {
            "workshop": _person(client, "garage-west", "dealer", "workshops"),
            "dealer": _person(client, "showroom", "dealer", "dealers"),  # not a recipient
            # a recipient of obfcm_reporting, but it receives: it does not read out cars
            "commission": _person(client, "dg-clima", "authority_liaison", "eu_commission"),
        }
        ids = {"commission": "dg-clima", "dealer": "showroom"}
        yield (
            client,
            container,
            {"tokens": tokens, "owners": owners, "vehicles": vehicles, "ids": ids},
        )
    container.close()


def upload(client: TestClient, token: str, records: list[dict[str, Any]], purpose: str = PURPOSE):
    return client.post(
        "/v1/workshop/telemetry",
        content=json.dumps(records),
        headers={
            "Authorization": f"Bearer {token}",
            "X-Purpose": purpose,
            "Content-Type": "application/json",
        },
    )


def readout(
    vin: str, value: float, signal: str = DISTANCE, ago: timedelta = timedelta(minutes=2)
) -> dict[str, Any]:
    ts = (datetime.now(UTC) - ago).replace(microsecond=0).isoformat()
    return {"vin": vin, "signal": signal, "value": value, "ts": ts}


def test_a_refusal_stops_collection_and_keeps_nothing(shop, engine: Engine):
    client, container, w = shop
    records = [
        readout(VINS[0], 41_234.0),
        readout(VINS[1], 7_000.0),
        readout(VINS[0], 2_817.5, FUEL),
    ]
    response = upload(client, w["tokens"]["workshop"], records)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["rejected"], body["duplicates"]) == (2, 1, 0)
    refused = body["records"][1]
    assert refused["status"] == "rejected"
    [error] = refused["errors"]
    assert error["field"] == "records[1]" and error["rule"].startswith("consent")
    assert "GDPR" in error["message"]  # the article
    assert "7000" not in response.text and VINS[1] not in response.text
    stored = container.telemetry.rows_for_vehicle(w["vehicles"][0])
    assert {(r.signal, r.source, r.subject_id) for r in stored} == {
        (DISTANCE, "workshop", w["owners"][0]),
        (FUEL, "workshop", w["owners"][0]),
    }
    assert container.telemetry.rows_for_vehicle(w["vehicles"][1]) == []
    assert container.telemetry.quarantine() == []  # the refused read-out is kept nowhere
    with engine.connect() as conn:  # both vehicles' decisions are audited
        outcomes = sorted(
            r.outcome
            for r in conn.execute(
                select(audit_log.c.outcome).where(audit_log.c.caller_id == "garage-west")
            )
        )
    assert outcomes == ["allow", "deny"]


def test_a_caller_outside_the_workshops_is_refused_before_any_lookup(shop):
    client, container, w = shop
    response = upload(client, w["tokens"]["dealer"], [readout(VINS[0], 1.0)])
    assert response.status_code == 403, response.text
    assert "caller.not_collector" in response.text and VINS[0] not in response.text
    assert container.telemetry.count() == 0


def test_malformed_records_leave_only_their_reasons_in_quarantine(shop):
    """No decision covered a malformed record (its car or time is unreadable): quarantine keeps
    why it was refused, never the read-out, also for the customer who refused."""
    client, container, w = shop
    records = [
        readout(VINS[0], -5.0),
        readout("WMW51DH0402W99999", 1.0),
        {"signal": DISTANCE},
        readout(VINS[1], 7_000.0, signal="Private.CarPrivacy.OBFCM.Distance"),  # misspelt
        readout(VINS[1].lower(), 7_000.0),
    ]
    body = upload(client, w["tokens"]["workshop"], records).json()
    rules = [[e["rule"] for e in r["errors"]] for r in body["records"]]
    assert rules[0] == ["range"] and rules[1] == ["known_vehicle"]
    assert "required" in rules[2] and rules[3] == ["known_signal"] and rules[4] == ["vin"]
    quarantined = container.telemetry.quarantine()
    assert len(quarantined) == 5 and {q.source for q in quarantined} == {"workshop"}
    assert all(q.payload_ciphertext == PAYLOAD_WITHHELD for q in quarantined)


def test_the_refusal_of_the_owner_of_the_read_out_time_counts(shop):
    """The car of the refusing owner was sold yesterday: a read-out from before the sale is
    hers and stays out; one from today is the new owner's and is stored."""
    client, container, w = shop
    new_owner = container.master.register_customer(
        ContactDetails("Nieuw", "Kim", "Havenweg", "9", "3012 CC", "Rotterdam", "NL")
    )
    container.master.add_usage(
        w["vehicles"][1],
        UsageKind.OWNER,
        datetime.now(UTC) - timedelta(days=1),
        customer_id=new_owner.id,
    )
    records = [readout(VINS[1], 6_900.0, ago=timedelta(days=2)), readout(VINS[1], 7_000.0)]
    body = upload(client, w["tokens"]["workshop"], records).json()
    assert [r["status"] for r in body["records"]] == ["rejected", "accepted"]
    assert body["records"][0]["errors"][0]["rule"] == "consent.refused"
    (row,) = container.telemetry.rows_for_vehicle(w["vehicles"][1])
    assert (row.subject_id, row.source) == (new_owner.id, "workshop")
    assert container.telemetry.quarantine() == []


@pytest.mark.parametrize("who", ["commission", "dealer"])
def test_only_workshop_callers_upload_even_with_nothing_known_in_the_batch(shop, who, engine):
    client, container, w = shop
    for records in ([readout(VINS[0], 1.0)], [], [{"vin": VINS[1], "signal": "Nope"}]):
        response = upload(client, w["tokens"][who], records)
        assert response.status_code == 403, (who, records, response.text)
    assert container.telemetry.count() == 0 and container.telemetry.quarantine() == []
    with engine.connect() as conn:  # every refusal is recorded
        denials = conn.execute(
            select(audit_log.c.outcome).where(audit_log.c.caller_id == w["ids"][who])
        ).all()
    assert [d.outcome for d in denials] == ["deny"] * 3


def test_without_a_purpose_or_token_nothing_is_taken(shop):
    client, container, w = shop
    anonymous = client.post("/v1/workshop/telemetry", json=[readout(VINS[0], 1.0)])
    assert anonymous.status_code == 401
    no_purpose = client.post(
        "/v1/workshop/telemetry",
        json=[readout(VINS[0], 1.0)],
        headers={"Authorization": f"Bearer {w['tokens']['workshop']}"},
    )
    assert no_purpose.status_code in (400, 422) and "purpose" in no_purpose.text
    assert container.telemetry.count() == 0


def test_a_workshop_organisation_the_policy_lacks_is_a_configuration_error(engine, tmp_path):
    settings = Settings(data_dir=tmp_path, workshop_organisations=["workshops", "garage_x"])
    with pytest.raises(ValueError, match="garage_x"):  # at start-up, before any upload
        bootstrap(settings, engine=engine)


def test_a_record_of_another_category_is_refused_alone(shop):
    client, container, w = shop
    speed = {**readout(VINS[0], 50.0), "signal": "Vehicle.Speed"}  # not an OBFCM value
    body = upload(client, w["tokens"]["workshop"], [readout(VINS[0], 41_000.0), speed]).json()
    assert [r["status"] for r in body["records"]] == ["accepted", "rejected"]
    assert body["records"][1]["errors"][0]["rule"] == "category.not_allowed"
    assert container.telemetry.count() == 1 and container.telemetry.quarantine() == []
