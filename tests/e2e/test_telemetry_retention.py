"""POST /v1/telemetry refuses a record already past its retention at receipt (SPEC P4, I1), on
SQLite and PostgreSQL: rule ``retention.expired``, quarantined, counted as rejected; nothing is
stored with an expiry in the past."""

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
from tests.e2e.test_telemetry_http import now_iso, post

from carprivacy.adapters.crypto.master_key import new_master_key
from carprivacy.bootstrap import Services, bootstrap
from carprivacy.config import load_settings
from carprivacy.domain.master import ContactDetails, UsageKind
from carprivacy.entrypoints.api.app import create_app

VIN = "WMWHT000000000009"
DAY = 24 * 3600


@pytest.fixture
def setup(engine: Engine, tmp_path: Path) -> Iterator[tuple[TestClient, Services, str]]:
    settings = load_settings(
        data_dir=tmp_path, master_key=SecretStr(base64.b64encode(new_master_key()).decode())
    )
    container = bootstrap(settings, engine=engine)
    customer = container.master.register_customer(
        ContactDetails("Jansen", "Piet", "Kerkstraat", "1", "2281 AA", "Rijswijk", "NL")
    )
    vehicle = container.master.register_vehicle(VIN, "MINI Countryman", "white")
    container.master.add_usage(
        vehicle.id, UsageKind.OWNER, datetime.now(UTC) - timedelta(days=90), customer_id=customer.id
    )
    token = container.vehicle_credentials.issue(vehicle.id, VIN).token
    with TestClient(create_app(container)) as client:
        yield client, container, token


def test_telemetry_stamped_35_days_ago_is_refused_with_the_retention_rule(setup):
    client, container, token = setup
    records = [
        {"signal": "Vehicle.Speed", "value": 50.0, "ts": now_iso(35 * DAY)},
        {"signal": "Vehicle.Speed", "value": 51.0, "ts": now_iso(20 * DAY)},
    ]
    response = post(client, token, json.dumps(records).encode())
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["rejected"], body["errors"]) == (1, 1, True)
    (refusal,) = body["records"][0]["errors"]
    assert (refusal["field"], refusal["rule"]) == ("records[0].ts", "retention.expired")
    assert body["records"][1]["status"] == "accepted"
    assert container.telemetry.count() == 1
    (q,) = container.telemetry.quarantine()
    assert [r.rule for r in q.reasons] == ["retention.expired"]
    received = datetime.now(UTC)
    (vehicle,) = [v for v in [container.master.find_vehicle_by_vin(VIN)] if v]
    rows = container.telemetry.rows_for_vehicle(vehicle.id)
    assert all(r.expires_at is None or r.expires_at > received - timedelta(minutes=1) for r in rows)
