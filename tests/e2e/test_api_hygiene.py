"""Limits and input hygiene of the HTTP API (SPEC I1, I4): what a client sends is refused with a
4xx naming the rule, never a 5xx. Body limits (Content-Length and a counted chunked stream),
bounded integer query parameters, control / bidi / blank texts, duplicate JSON keys, non-UTF-8
bodies; the answers have the shapes the OpenAPI document declares."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests.e2e.test_auth_api import admin, bearer, create, officer_token, settings_for

from carprivacy.entrypoints.api.app import create_app
from carprivacy.entrypoints.api.schemas.query import QUERY_INT_MAX
from carprivacy.testing import bootstrap_in_memory

MIB = 1024 * 1024


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    return create_app(bootstrap_in_memory(settings_for(tmp_path)))


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def asgi_post(
    app: FastAPI, path: str, headers: dict[str, str], chunks: Iterator[bytes]
) -> tuple[int, dict[str, Any], int]:
    """POST straight through the ASGI interface: the status, the JSON answer and how many body
    bytes the app pulled from the client (the test client would read the whole body first)."""
    pulled = 0
    answer: dict[str, Any] = {"status": None, "body": b""}

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    return answer["status"], json.loads(answer["body"]), pulled


def password_chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    yield b'{"login": "someone@example.org", "password": "'
    sent = 0
    while sent < total:
        yield b"x" * size
        sent += size
    yield b'"}'


def test_a_200_mib_password_is_refused_from_its_content_length_without_reading_it(app):
    headers = {"content-type": "application/json", "content-length": str(200 * MIB)}
    status, body, pulled = asgi_post(app, "/v1/auth/login", headers, password_chunks(200 * MIB))
    assert status == 413
    assert body["limit_bytes"] == 16_384 and "16384" in body["detail"]
    assert pulled == 0


def test_a_chunked_200_mib_password_is_refused_once_it_passes_the_limit(app):
    headers = {"content-type": "application/json", "transfer-encoding": "chunked"}
    status, body, pulled = asgi_post(app, "/v1/auth/login", headers, password_chunks(200 * MIB))
    assert status == 413 and body["limit_bytes"] == 16_384
    assert pulled < 16_384 + 2 * 64 * 1024  # stopped at the limit, not after 200 MiB


def test_a_50_mib_scope_list_is_refused(client: TestClient) -> None:
    scopes = ["cardata:read"] * (50 * MIB // 15)
    body = (
        json.dumps(
            {"name": "X", "kind": "machine", "role": "partner", "organisation": "workshops"}
        )[:-1]
        + ', "scopes": '
        + json.dumps(scopes)
        + "}"
    )
    r = client.post(
        "/v1/callers", content=body, headers={**admin(), "content-type": "application/json"}
    )
    assert r.status_code == 413 and r.json()["limit_bytes"] == 1_048_576
    assert client.get("/v1/callers", headers=admin()).json() == []


def test_a_scope_list_under_the_byte_limit_is_still_bounded_in_count(client: TestClient) -> None:
    r = client.post(
        "/v1/callers",
        headers=admin(),
        json={
            "name": "X",
            "kind": "machine",
            "role": "partner",
            "organisation": "workshops",
            "scopes": [f"s{i}" for i in range(101)],
        },
    )
    assert r.status_code == 422
    assert [(e["field"], e["rule"]) for e in r.json()["errors"]] == [("scopes", "too_long")]


def test_the_limits_are_settings(tmp_path: Path) -> None:
    settings = settings_for(tmp_path).model_copy(update={"max_public_body_bytes": 100})
    with TestClient(create_app(bootstrap_in_memory(settings))) as c:
        r = c.post("/v1/auth/login", json={"login": "a" * 100, "password": "b"})
    assert r.status_code == 413 and r.json()["limit_bytes"] == 100


@pytest.mark.parametrize("value", [2**63, 2**64, 10**30])
def test_integer_query_parameters_past_64_bits_are_422_naming_the_field(client, value):
    token = officer_token(client)
    r = client.get(f"/v1/audit?after_seq={value}", headers=bearer(token))
    assert r.status_code == 422, r.text
    assert [(e["field"], e["rule"]) for e in r.json()["errors"]] == [
        ("query.after_seq", "less_than_equal")
    ]
    r = client.get(f"/v1/customers?offset={value}&purpose=customer_service", headers=admin())
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["query.offset"]
    r = client.get(f"/v1/audit?after_seq={QUERY_INT_MAX}", headers=bearer(token))
    assert r.status_code == 200


def test_every_integer_query_parameter_is_bounded(app: FastAPI) -> None:
    unbounded = []
    for path, item in app.openapi()["paths"].items():
        for method, op in item.items():
            for p in op.get("parameters", []):
                schema = p.get("schema", {})
                kinds = [schema, *schema.get("anyOf", [])]
                if any(k.get("type") == "integer" and "maximum" not in k for k in kinds):
                    unbounded.append(f"{method.upper()} {path} {p['name']}")
    assert unbounded == []


CALLER = {"kind": "person", "role": "dealer", "organisation": "workshops"}


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("Ann\x00e", "control_character"),
        ("Ann\r\nBcc: x", "control_character"),
        ("Ann\ne", "control_character"),
        ("evil\u202egnp.exe", "bidi_control"),
        ("a\u2066b", "bidi_control"),
        ("\u200b", "blank"),
        (" \u200b\u200d\ufeff ", "blank"),
        ("   ", "blank"),
    ],
)
def test_names_with_control_bidi_or_nothing_visible_are_refused(client, name, rule):
    r = client.post("/v1/callers", headers=admin(), json={**CALLER, "name": name})
    assert r.status_code == 422, r.text
    assert [(e["field"], e["rule"]) for e in r.json()["errors"]] == [("name", rule)]
    assert name not in r.text
    assert client.get("/v1/callers", headers=admin()).json() == []
    r = client.post(
        "/v1/customers",
        headers=admin(),
        json={
            "surname": name,
            "first_name": "Ann",
            "street": "Straat",
            "house_number": "1",
            "postal_code": "1234 AB",
            "city": "Utrecht",
            "country": "NL",
        },
    )
    assert r.status_code == 422, r.text
    assert [(e["field"], e["rule"]) for e in r.json()["errors"]] == [("surname", rule)]


def test_a_note_may_span_lines_but_holds_no_nul(client: TestClient) -> None:
    from carprivacy.entrypoints.api.schemas.access import ReviewRequestIn

    assert ReviewRequestIn(reason="line one\nline two").reason == "line one\nline two"
    with pytest.raises(ValueError, match="control_character|control characters"):
        ReviewRequestIn(reason="a\x00b")


def test_a_name_in_ordinary_unicode_is_taken(client: TestClient) -> None:
    made = create(client, **CALLER, name="Zoë Ångström-Çelik 李")
    assert made["name"] == "Zoë Ångström-Çelik 李"


def test_a_key_given_twice_is_refused_naming_the_key(client: TestClient) -> None:
    body = '{"login": "a@example.org", "password": "one", "password": "two"}'
    r = client.post("/v1/auth/login", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert [(e["field"], e["rule"]) for e in r.json()["errors"]] == [("password", "duplicate_key")]
    nested = '{"name": "X", "kind": "person", "role": "dealer", "organisation": "workshops", '
    nested += '"name": "Y"}'
    r = client.post(
        "/v1/callers", content=nested, headers={**admin(), "content-type": "application/json"}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["rule"] == "duplicate_key"
    assert client.get("/v1/callers", headers=admin()).json() == []


@pytest.mark.parametrize("path", ["/v1/auth/login", "/v1/callers", "/v1/customers"])
def test_a_body_that_is_not_utf8_gets_the_documented_400(client, path):
    body = b'{"login": "a\xff\xfe", "password": "x"}'
    r = client.post(path, content=body, headers={**admin(), "content-type": "application/json"})
    assert r.status_code == 400
    answer = r.json()
    assert set(answer) == {"detail", "line", "column", "position"}
    assert (answer["line"], answer["column"], answer["position"]) == (1, 13, 12)
    assert "UTF-8" in answer["detail"]


@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000, b'{"login": 1' + b"0" * 5000 + b', "password": "x"}', b'{"login": '],
)
def test_json_that_cannot_be_read_is_400_not_500(client: TestClient, body: bytes) -> None:
    headers = {**admin(), "content-type": "application/json"}
    r = client.post("/v1/callers", content=body, headers=headers)
    assert r.status_code in (400, 413), r.text
    if r.status_code == 400:
        assert set(r.json()) == {"detail", "line", "column", "position"}


def test_a_nul_in_the_url_is_422(client: TestClient) -> None:
    r = client.get("/v1/customers/abc%00def", headers=admin())
    assert r.status_code == 422 and r.json()["errors"][0]["rule"] == "control_character"
    r = client.get("/v1/audit?caller_id=a%00b", headers=admin())
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query"


def test_the_openapi_document_declares_413_on_every_operation_with_a_body(app) -> None:
    spec = app.openapi()
    assert set(spec["components"]["schemas"]["TooLarge"]["properties"]) == {
        "detail",
        "limit_bytes",
    }
    for item in spec["paths"].values():
        for op in item.values():
            if op.get("requestBody"):
                assert "413" in op["responses"], op["operationId"]


def test_on_the_sql_store_a_64_bit_overflow_is_422_not_500(engine, tmp_path: Path) -> None:
    from carprivacy.bootstrap import bootstrap

    container = bootstrap(settings_for(tmp_path), engine=engine)
    with TestClient(create_app(container), raise_server_exceptions=False) as c:
        token = officer_token(c)
        for url, headers in (
            (f"/v1/audit?after_seq={2**63}", bearer(token)),
            (f"/v1/customers?offset={2**63}&purpose=customer_service", admin()),
            (f"/v1/vehicles?offset={2**64}&purpose=customer_service", admin()),
        ):
            r = c.get(url, headers=headers)
            assert r.status_code == 422, (url, r.text)
        r = c.post("/v1/callers", headers=admin(), json={**CALLER, "name": "A\x00B"})
        assert r.status_code == 422
