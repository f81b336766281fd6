"""Real answers validate against the app's own OpenAPI schema (SPEC I1,
I4): a contract created without ``end``, a contract update, the telemetry answer with a
duplicate and a rejected record; and ``POST /v1/telemetry`` documents its request body (JSON array
and NDJSON) with an example that its own schema accepts.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import test_api_contract as contract
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator

AUTH, CUSTOMER = contract.AUTH, contract.CUSTOMER
api = contract.api  # the shared fixture


def check(client: TestClient, method: str, path: str, response: Any) -> None:
    """``response`` (real) validates against what the app's OpenAPI says of that route/status."""
    spec = client.app.openapi()  # type: ignore[attr-defined]
    declared = spec["paths"][path][method]["responses"][str(response.status_code)]
    schema = declared["content"]["application/json"]["schema"]
    errors = list(
        Draft202012Validator({**schema, "components": spec["components"]}).iter_errors(
            response.json()
        )
    )
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]


def test_real_answers_validate_against_the_apps_own_openapi_schema(api) -> None:
    client, token = api
    check(client, "get", "/health", client.get("/health"))
    customer = client.post("/v1/customers", json=CUSTOMER, headers=AUTH)
    assert customer.status_code == 201
    check(client, "post", "/v1/customers", customer)
    vehicle = client.post(
        "/v1/vehicles",
        json={"vin": "WMW31DH0402T56789", "model": "MINI Cooper SE", "colour": "black"},
        headers=AUTH,
    )
    check(client, "post", "/v1/vehicles", vehicle)
    body = {
        "customer_id": customer.json()["id"],
        "vehicle_id": vehicle.json()["id"],
        "start": "2025-01-01T10:00:00+01:00",
        "services": ["ecall"],
    }
    contract = client.post("/v1/contracts", json=body, headers=AUTH)
    assert contract.status_code == 201 and "end" not in contract.json()
    check(client, "post", "/v1/contracts", contract)
    patched = client.patch(
        f"/v1/contracts/{contract.json()['id']}", json={"end": "2026-01-01T00:00:00Z"}, headers=AUTH
    )
    assert patched.status_code == 200
    check(client, "patch", "/v1/contracts/{contract_id}", patched)
    ts = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    records = [{"signal": "Vehicle.Speed", "value": 3.0, "ts": ts}, {"signal": "Nope", "ts": ts}]
    headers = {"Authorization": f"Bearer {token}"}
    client.post("/v1/telemetry", json=records[:1], headers=headers)
    answer = client.post("/v1/telemetry", json=records, headers=headers)
    assert [r["status"] for r in answer.json()["records"]] == ["duplicate", "rejected"]
    check(client, "post", "/v1/telemetry", answer)


def test_telemetry_documents_its_request_body_with_a_valid_example(api) -> None:
    client, _ = api
    spec = client.app.openapi()  # type: ignore[attr-defined]
    body = spec["paths"]["/v1/telemetry"]["post"]["requestBody"]
    content = body["content"]
    assert {"application/json", "application/x-ndjson"} <= set(content)
    schema = content["application/json"]["schema"]
    example = content["application/json"]["example"]
    Draft202012Validator(schema).validate(example)
    lines = [json.loads(x) for x in content["application/x-ndjson"]["example"].splitlines()]
    assert lines == example
    assert set(schema["items"]["required"]) == {"signal", "value", "ts"}


def test_error_answers_validate_against_the_apps_own_openapi_schema(api) -> None:
    """422 (every bad field) and 400 (malformed JSON) are documented as they are answered."""
    client, token = api
    bad = client.post("/v1/customers", json={**CUSTOMER, "email": "nope"}, headers=AUTH)
    assert bad.status_code == 422
    check(client, "post", "/v1/customers", bad)
    patch = client.patch("/v1/contracts/x", json={"services": "ecall"}, headers=AUTH)
    assert patch.status_code == 422
    check(client, "patch", "/v1/contracts/{contract_id}", patch)
    broken = client.post(
        "/v1/vehicles", content=b"{", headers={**AUTH, "Content-Type": "application/json"}
    )
    assert broken.status_code == 400
    check(client, "post", "/v1/vehicles", broken)
    telemetry = client.post(
        "/v1/telemetry",
        content=b"[{]",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert telemetry.status_code == 400
    check(client, "post", "/v1/telemetry", telemetry)
