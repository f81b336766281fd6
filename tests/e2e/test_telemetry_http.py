"""POST /v1/telemetry over HTTP (SPEC I1, I3), on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine

from carprivacy.adapters.crypto.master_key import new_master_key
from carprivacy.bootstrap import Services, bootstrap
from carprivacy.config import load_settings
from carprivacy.domain.master import ContactDetails, UsageKind
from carprivacy.entrypoints.api.app import create_app

VIN = "WMWHT000000000001"
LIMIT = 4096


@pytest.fixture
def setup(engine: Engine, tmp_path: Path) -> Iterator[tuple[TestClient, Services, str]]:
    settings = load_settings(
        data_dir=tmp_path,
        master_key=SecretStr(base64.b64encode(new_master_key()).decode()),
        max_payload_bytes=LIMIT,
    )
    container = bootstrap(settings, engine=engine)
    customer = container.master.register_customer(
        ContactDetails("Jansen", "Piet", "Kerkstraat", "1", "2281 AA", "Rijswijk", "NL")
    )
    vehicle = container.master.register_vehicle(VIN, "MINI Countryman", "white")
    container.master.add_usage(
        vehicle.id, UsageKind.OWNER, datetime.now(UTC) - timedelta(days=10), customer_id=customer.id
    )
    token = container.vehicle_credentials.issue(vehicle.id, VIN).token
    with TestClient(create_app(container)) as client:
        yield client, container, token


def now_iso(seconds: int = 0) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat()


def post(client: TestClient, token: str, body: bytes, ctype: str = "application/json"):
    return client.post(
        "/v1/telemetry",
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": ctype},
    )


def test_a_mixed_batch_stores_the_good_records_and_names_the_bad(setup):
    client, container, token = setup
    records = [
        {"signal": "Vehicle.TraveledDistance", "value": 1200, "ts": now_iso(5)},
        {"signal": "Vehicle.Speed", "value": 999.0, "ts": now_iso(4)},
        {"signal": "Vehicle.CurrentLocation.Latitude", "value": 52.0, "ts": now_iso(3)},
        {"signal": "Vehicle.Speed", "value": 50.0, "ts": now_iso(-3600)},
        {"signal": "Vehicle.Speed", "value": 50.0, "ts": now_iso(2), "vin": "WMWHT000000000002"},
    ]
    response = post(client, token, json.dumps(records).encode())
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["rejected"], body["errors"]) == (2, 3, True)
    refused = {r["index"]: r["errors"][0] for r in body["records"] if r["status"] == "rejected"}
    assert refused[1] == {
        "field": "records[1].value",
        "rule": "range",
        "message": refused[1]["message"],
    }
    assert refused[3]["rule"] == "future" and refused[3]["field"] == "records[3].ts"
    assert refused[4]["rule"] == "vin_mismatch"
    assert container.telemetry.count() == 2
    assert len(container.telemetry.quarantine()) == 3


def test_ndjson_is_accepted(setup):
    client, container, token = setup
    lines = [
        json.dumps({"signal": "Vehicle.Speed", "value": float(i), "ts": now_iso(i)})
        for i in range(1, 6)
    ]
    response = post(client, token, ("\n".join(lines) + "\n").encode(), "application/x-ndjson")
    assert response.status_code == 200 and response.json()["accepted"] == 5
    assert container.telemetry.count() == 5


def test_malformed_json_names_line_column_and_position(setup):
    client, _, token = setup
    payload = b'[\n  {"signal": "Vehicle.Speed",\n   "value": }\n]'
    response = post(client, token, payload)
    assert response.status_code == 400
    body = response.json()
    assert (body["line"], body["column"], body["position"]) == (3, 13, payload.index(b"}"))
    # NDJSON: a malformed line is one refused record (tests/e2e/test_telemetry_http_edges.py)
    nd = post(client, token, b'{"a": 1}\n{"b": \n', "application/x-ndjson")
    assert nd.status_code == 200
    assert nd.json()["records"][1]["errors"][0]["message"].startswith("malformed JSON at line 2")


def test_payload_limit_wrong_type_and_credentials(setup):
    client, container, token = setup
    big = json.dumps([{"signal": "Vehicle.Speed", "value": 1.0, "ts": now_iso()}] * 100).encode()
    too_large = post(client, token, big)
    assert too_large.status_code == 413
    assert too_large.json()["limit_bytes"] == LIMIT and str(LIMIT) in too_large.json()["detail"]
    assert post(client, token, b"signal=x", "application/x-www-form-urlencoded").status_code == 415
    assert post(client, token, b'{"signal": 1}').status_code == 422
    assert post(client, "cpv_not-a-real-token", b"[]").status_code == 401
    assert client.post("/v1/telemetry", content=b"[]").status_code == 401
    assert container.telemetry.count() == 0


def test_redelivered_batch_is_stored_once(setup):
    client, container, token = setup
    body = json.dumps([{"signal": "Vehicle.Speed", "value": 3.0, "ts": now_iso(1)}]).encode()
    first = post(client, token, body).json()
    assert (first["accepted"], first["duplicates"]) == (1, 0)
    again = post(client, token, body).json()
    assert (again["accepted"], again["duplicates"], again["rejected"]) == (0, 1, 0)
    assert again["records"] == [{"index": 0, "status": "duplicate", "errors": []}]
    assert container.telemetry.count() == 1


def test_revoked_credential_is_refused(setup):
    client, container, token = setup
    vehicle = container.master.find_vehicle_by_vin(VIN)
    assert vehicle is not None
    assert container.vehicle_credentials.revoke_all(vehicle.id) == 1
    assert post(client, token, b"[]").status_code == 401
