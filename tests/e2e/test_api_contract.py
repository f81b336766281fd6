"""Input errors of the HTTP API as a new user meets them (SPEC I1,
I4): malformed JSON is a 400 naming line, column and position on EVERY JSON route, as on
telemetry; a pattern error names a human rule ("email" / "must be an e-mail address"), never the
raw regular expression and never the submitted value. The ``api`` fixture is shared with
test_api_openapi.py.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine

from carprivacy.adapters.crypto.master_key import new_master_key
from carprivacy.bootstrap import bootstrap
from carprivacy.config import load_settings
from carprivacy.domain.master import ContactDetails, UsageKind
from carprivacy.entrypoints.api.app import create_app
from carprivacy.entrypoints.api.input_formats import BY_PATTERN

TOKEN = "contract-admin-token-of-at-least-32-chars"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
VIN = "WMWCT000000000001"
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
BROKEN = b'{"surname": "Bakker",\n  "first_name": }'  # line 2, column 17, position 38


@pytest.fixture
def api(engine: Engine, tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    settings = load_settings(
        data_dir=tmp_path,
        master_key=SecretStr(base64.b64encode(new_master_key()).decode()),
        admin_token=SecretStr(TOKEN),
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
        yield client, token


def test_malformed_json_is_400_with_line_column_position_on_master_and_telemetry(api) -> None:
    client, token = api
    json_headers = {"Content-Type": "application/json"}
    master = client.post("/v1/customers", content=BROKEN, headers={**AUTH, **json_headers})
    telemetry = client.post(
        "/v1/telemetry",
        content=BROKEN.replace(b"{", b"[{", 1),
        headers={"Authorization": f"Bearer {token}", **json_headers},
    )
    assert master.status_code == telemetry.status_code == 400
    body = master.json()
    assert set(body) == set(telemetry.json()) == {"detail", "line", "column", "position"}
    assert (body["line"], body["column"], body["position"]) == (2, 17, 38)
    assert body["detail"].startswith("malformed JSON: ")
    assert BROKEN.decode().index("}", 20) == body["position"]


def test_every_json_body_route_answers_malformed_json_with_400(api) -> None:
    """Walks the app's OpenAPI document: every operation whose body is JSON."""
    client, token = api
    spec = client.app.openapi()  # type: ignore[attr-defined]
    operations = [
        (method, path)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if "application/json" in op.get("requestBody", {}).get("content", {})
    ]
    assert len(operations) >= 8, "the walk found too few routes to mean anything"
    for method, path in operations:
        r = client.request(
            method,
            re.sub(r"\{[^}]+\}", "x", path),
            content=b"[\n{,",
            headers={
                "Authorization": f"Bearer {token if path == '/v1/telemetry' else TOKEN}",
                "Content-Type": "application/json",
                "X-Purpose": "obfcm_reporting",  # routes that need one (a workshop upload)
            },
        )
        assert r.status_code == 400, (method, path, r.status_code, r.text)
        assert (r.json()["line"], r.json()["column"], r.json()["position"]) == (2, 2, 3)


def test_pattern_errors_name_a_human_rule_without_regex_or_value(api) -> None:
    client, _ = api
    bad = {**CUSTOMER, "email": "femke-at-example", "country": "nl"}
    r = client.post("/v1/customers", json=bad, headers=AUTH)
    assert r.status_code == 422
    errors = {e["field"]: e for e in r.json()["errors"]}
    assert errors["email"] == {
        "field": "email",
        "rule": "email",
        "message": "must be an e-mail address",
    }
    assert errors["country"]["rule"] == "country_code"
    assert "femke-at-example" not in r.text and "^[" not in r.text and "\\s" not in r.text
    r = client.post("/v1/vehicles", json={"vin": "wmw0", "model": "x", "colour": "y"}, headers=AUTH)
    assert [(e["field"], e["rule"]) for e in r.json()["errors"]] == [("vin", "vin")]


def test_every_pattern_in_the_api_has_a_named_rule(api) -> None:
    client, _ = api
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                found.add(node["pattern"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(client.app.openapi())  # type: ignore[attr-defined]
    assert found, "no patterns found: the walk is broken"
    assert found <= set(BY_PATTERN), found - set(BY_PATTERN)
