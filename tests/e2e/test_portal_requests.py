"""The portal's request pages over HTTP on the in-memory demo (SPEC R1-R8): a logged-in customer
submits each kind with the session's CSRF token, follows it (state, due date, history without
staff ids), and downloads the copy once the privacy officer completed it; another customer
cannot open it; bad input is a page naming the field."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from carprivacy.config import Settings
from carprivacy.domain.access import Caller, CallerKind, Role
from carprivacy.entrypoints.api.app import create_app
from carprivacy.services.demo.callers import load_callers
from carprivacy.services.demo.master_data import load_demo
from carprivacy.testing import InMemoryStores
from carprivacy.testing.bootstrap import bootstrap_in_memory

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
OFFICER = Caller("po-1", CallerKind.PERSON, Role.PRIVACY_OFFICER, "mini_nl")


@pytest.fixture(scope="module")
def demo() -> Iterator[tuple[TestClient, object, dict[str, str], InMemoryStores]]:
    settings = Settings(
        data_dir=Path("/nonexistent/portal-requests"), argon2_time_cost=1, argon2_memory_kib=8
    )
    stores = InMemoryStores()
    services = bootstrap_in_memory(settings, stores=stores)
    summary = load_demo(services.master, 2024)
    logins = load_callers(services.callers, summary.customer_ids, summary.fleet_id)
    secrets = {x.caller.id: x.secret or "" for x in logins}
    yield create_app(services), services, secrets, stores  # type: ignore[misc]


def _login(demo: tuple[object, object, dict[str, str], object], login: str) -> TestClient:
    app, _, secrets, _ = demo
    client = TestClient(app, base_url="https://testserver")  # type: ignore[arg-type]
    token = TOKEN.search(client.get("/portal/login").text)
    assert token is not None
    r = client.post(
        "/portal/login",
        data={"login": login, "password": secrets[login], "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return client


def _post(client: TestClient, data: dict[str, str]) -> str:
    token = TOKEN.search(client.get("/portal/requests").text)
    assert token is not None
    r = client.post(
        "/portal/requests", data={**data, "csrf_token": token[1]}, follow_redirects=False
    )
    assert r.status_code == 303, r.text
    return str(r.headers["location"])


def test_submit_follow_and_download(demo) -> None:  # type: ignore[no-untyped-def]
    _, services, _, stores = demo
    client = _login(demo, "demo-owner")
    page = client.get("/portal/requests")
    assert page.status_code == 200 and "Mijn verzoeken" in page.text
    assert 'href="/portal/requests"' in page.text  # in the navigation
    where = _post(client, {"kind": "access"})
    assert where.startswith("/portal/requests/") and where.endswith("?sent=1")
    rid = where.split("/")[-1].split("?")[0]
    shown = client.get(where)
    assert shown.status_code == 200
    assert "identiteit bevestigd" in shown.text and "Downloaden" not in shown.text
    assert client.get(f"/portal/requests/{rid}/download").status_code == 409
    services.rights.fulfilment.complete(OFFICER, rid)
    shown = client.get(f"/portal/requests/{rid}")
    assert "afgehandeld" in shown.text and "po-1" not in shown.text and "medewerker" in shown.text
    with client.stream("GET", f"/portal/requests/{rid}/download?format=json") as r:
        assert r.status_code == 200
        doc = json.loads(b"".join(r.iter_bytes()))
    assert doc["export"]["copy"]["fee_flagged"] is False
    assert len(stores.exports.copies) == 1
    listing = client.get("/portal/requests").text
    assert f"/portal/requests/{rid}" in listing
    other = _login(demo, "demo-driver")
    assert other.get(f"/portal/requests/{rid}").status_code == 404
    assert other.get(f"/portal/requests/{rid}/download").status_code == 404


def test_each_kind_from_the_form(demo) -> None:  # type: ignore[no-untyped-def]
    _, services, _, _ = demo
    client = _login(demo, "demo-owner")
    forms = [
        {"kind": "rectification", "field": "city", "value": "Haarlem"},
        {"kind": "erasure"},
        {"kind": "restriction", "case": "accuracy_contested"},
        {"kind": "portability"},
        {"kind": "objection", "purpose": "marketing"},
    ]
    for form in forms:
        where = _post(client, form)
        assert client.get(where).status_code == 200, form
    kinds = {s.request.kind.value for s in services.rights.requests.repository.stored.values()}
    assert {"rectification", "erasure", "restriction", "portability", "objection"} <= kinds


def test_bad_input_is_a_page_naming_the_field(demo) -> None:  # type: ignore[no-untyped-def]
    client = _login(demo, "demo-owner")
    token = TOKEN.search(client.get("/portal/requests").text)
    assert token is not None
    r = client.post(
        "/portal/requests",
        data={"kind": "rectification", "field": "shoe_size", "value": "44", "csrf_token": token[1]},
    )
    assert r.status_code == 422 and "details.changes.shoe_size" in r.text
    r = client.post("/portal/requests", data={"kind": "access"})  # no CSRF token
    assert r.status_code == 403
