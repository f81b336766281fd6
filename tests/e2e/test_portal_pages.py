"""The portal's pages over HTTP on the in-memory demo (SPEC C1, C2, C4, R1, U1): every page needs
a customer login, every form post needs the session's CSRF token, the session cookie is
HTTP-only, SameSite and Secure (``__Host-``) over TLS, a customer sees only their own data, no
personal identifier is in a URL, and errors are pages naming what went wrong."""

from __future__ import annotations

import base64
import hashlib
import importlib
import pkgutil
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from carprivacy.bootstrap import Services, utc_now
from carprivacy.config import Settings
from carprivacy.entrypoints.api.app import create_app
from carprivacy.entrypoints.web import pages
from carprivacy.services.demo.callers import load_callers
from carprivacy.services.demo.choices import load_choices
from carprivacy.services.demo.master_data import DemoSummary, load_demo
from carprivacy.services.demo.telemetry import load_week
from carprivacy.testing.bootstrap import bootstrap_in_memory

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
PAGES = (
    "/portal/",
    "/portal/vehicles",
    "/portal/vehicles/1",
    "/portal/privacy",
    "/portal/my-data",
    "/portal/cardata/device",
    "/portal/cardata/clients",
    "/portal/shares",
)


@dataclass
class Demo:
    app: object
    services: Services
    summary: DemoSummary
    secrets: dict[str, str]

    def client(self) -> TestClient:
        return TestClient(self.app, base_url="https://testserver")  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def demo() -> Iterator[Demo]:
    settings = Settings(
        data_dir=Path("/nonexistent/portal-pages"), argon2_time_cost=1, argon2_memory_kib=8
    )
    services = bootstrap_in_memory(settings)
    summary = load_demo(services.master, 2024)
    load_choices(
        services.consent_ledger,
        summary.customer_ids,
        lambda cid: next((v.id for v in services.master.vehicles_of(cid, utc_now())), None),
    )
    load_week(services.ingest, services.catalogue, summary.telemetry_vins[:2], utc_now())
    logins = load_callers(services.callers, summary.customer_ids, summary.fleet_id)
    yield Demo(
        create_app(services), services, summary, {x.caller.id: x.secret or "" for x in logins}
    )


def _login(demo: Demo, login: str = "demo-owner") -> TestClient:
    client = demo.client()
    token = TOKEN.search(client.get("/portal/login").text)
    assert token is not None
    r = client.post(
        "/portal/login",
        data={"login": login, "password": demo.secrets[login], "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/portal/", r.text
    return client


def test_every_page_needs_a_login(demo: Demo) -> None:
    client = demo.client()
    for path in (*PAGES, "/portal/vehicles/1/download", "/portal/my-data/history"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/portal/login", path


def test_the_session_cookie_is_http_only_same_site_and_secure_over_tls(demo: Demo) -> None:
    client = demo.client()
    cookie = client.get("/portal/login").headers["set-cookie"]
    assert cookie.startswith("__Host-carprivacy_session=")
    attributes = {a.strip().lower() for a in cookie.split(";")[1:]}
    assert {"httponly", "secure", "samesite=lax", "path=/"} <= attributes
    assert not any(a.startswith("domain") for a in attributes)
    answer = _login(demo).get("/portal/")
    assert "script-src" not in answer.headers["content-security-policy"]  # no script at all
    assert answer.headers["cache-control"] == "no-store"


def test_every_form_post_needs_the_sessions_csrf_token(demo: Demo) -> None:
    client = _login(demo)
    posts = sorted(
        route.path
        for mod in pkgutil.iter_modules(pages.__path__)
        for route in importlib.import_module(f"{pages.__name__}.{mod.name}").router.routes
        if "POST" in getattr(route, "methods", ())
    )
    assert {"/login", "/logout", "/privacy/consents", "/privacy/objections"} <= set(posts)
    other = TOKEN.search(demo.client().get("/portal/login").text)
    assert other is not None
    for path in posts:
        for token in (None, other.group(1), "x" * 64):
            data = {"topic": "marketing_post", "choice": "give", "purpose": "marketing"}
            if token:
                data["csrf_token"] = token
            r = client.post(f"/portal{path}", data=data, follow_redirects=False)
            assert r.status_code == 403 and "csrf_token" in r.text, (path, token)
    assert client.get("/portal/", follow_redirects=False).status_code == 200  # still logged in


def test_staff_cannot_enter_the_portal_and_a_bad_password_is_named(demo: Demo) -> None:
    client = demo.client()
    token = TOKEN.search(client.get("/portal/login").text)
    assert token is not None
    form = {"login": "demo-desk", "password": demo.secrets["demo-desk"], "csrf_token": token[1]}
    r = client.post("/portal/login", data=form)
    assert r.status_code == 403 and "klanten" in r.text
    r = client.post("/portal/login", data={**form, "login": "demo-owner", "password": "nope"})
    assert r.status_code == 401 and "not valid" in r.text and "nope" not in r.text


def test_a_customer_sees_only_their_own_data_and_no_identifier_is_in_a_url(demo: Demo) -> None:
    client = _login(demo)
    s = demo.summary
    owner = s.customer_ids[5]
    mine = {vin for _, vin, _, whose in s.made if owner in whose} or {s.telemetry_vins[1]}
    html = {path: client.get(path).text for path in PAGES}
    assert any(vin in html["/portal/vehicles"] for vin in mine)
    vehicle_ids = {vid for vid, _, _, _ in s.made}
    others = {vin for _, vin, _, _ in s.made} - mine
    for path, text in html.items():
        assert not any(vin in text for vin in others), path
        hrefs = re.findall(r'(?:href|action)="([^"]+)"', text)
        for href in hrefs:
            assert not any(x in href for x in (*s.customer_ids, *vehicle_ids, *mine)), href
    assert "<svg" in html["/portal/vehicles/1"] and "<script" not in html["/portal/vehicles/1"]
    csv = client.get("/portal/vehicles/1/download?format=csv").text.splitlines()
    assert len(csv) > 100 and all(line.endswith(owner) for line in csv[1:])
    data = client.get("/portal/vehicles/1/download?format=json").json()
    assert data["items"] and {i["subject_id"] for i in data["items"]} == {owner}
    history = client.get("/portal/my-data/history?format=json").json()
    assert history["subject_id"] == owner


def test_errors_are_pages_naming_what_went_wrong(demo: Demo) -> None:
    client = _login(demo)
    r = client.get("/portal/vehicles/1?from=2026-12-03&to=2026-11-01")
    assert r.status_code == 422 and "from" in r.text and "Traceback" not in r.text
    r = client.get("/portal/vehicles/99")
    assert r.status_code == 404 and "<html" in r.text
    token = TOKEN.search(client.get("/portal/privacy").text)
    assert token is not None
    r = client.post(
        "/portal/privacy/consents",
        data={"topic": "obfcm_refusal", "choice": "give", "csrf_token": token[1]},
    )
    assert r.status_code == 422 and "recorded_via" in r.text  # a workshop setting: refused
    r = client.get(
        "/portal/language?lang=en&back=https://elsewhere.example/", follow_redirects=False
    )
    assert r.headers["location"] == "/portal/"  # no open redirect


def test_a_customer_approves_a_cardata_device_in_the_portal(demo: Demo) -> None:
    """RFC 8628 3.3 (SPEC C1, C2): the client's ``verification_uri_complete`` opens the portal's
    approval page with the code filled in; approving there lets the client's poll end in tokens;
    the code is single use (a second answer is the same "not found" as an unknown code)."""
    portal = _login(demo)
    api = demo.client()
    login = {"login": "demo-owner", "password": demo.secrets["demo-owner"]}
    me = {
        "Authorization": f"Bearer {api.post('/v1/auth/login', json=login).json()['access_token']}"
    }
    scopes = ["cardata:api:read"]
    made = api.post("/v1/me/cardata/clients", json={"name": "app", "scopes": scopes}, headers=me)
    assert made.status_code == 201, made.text
    client_id = made.json()["client_id"]
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    device = api.post(
        "/gcdm/oauth/device/code",
        data={
            "client_id": client_id,
            "response_type": "device_code",
            "scope": "cardata:api:read",
            "code_challenge": challenge.decode(),
            "code_challenge_method": "S256",
        },
    ).json()
    assert device["verification_uri"].endswith("/portal/cardata/device")
    complete = device["verification_uri_complete"]
    page = portal.get(complete[complete.index("/portal/") :])
    assert page.status_code == 200 and f'value="{device["user_code"]}"' in page.text
    token = TOKEN.search(page.text)
    assert token is not None
    form = {"user_code": device["user_code"], "choice": "approve", "csrf_token": token.group(1)}
    answered = portal.post("/portal/cardata/device", data=form)
    assert answered.status_code == 200 and 'id="device-answer"' in answered.text
    assert "cardata:api:read" in answered.text
    poll = {
        "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
        "device_code": device["device_code"],
        "client_id": client_id,
        "code_verifier": verifier,
    }
    tokens = api.post("/gcdm/oauth/token", data=poll)
    assert tokens.status_code == 200 and tokens.json()["access_token"], tokens.text
    again = portal.post("/portal/cardata/device", data=form)
    assert again.status_code == 404 and 'id="device-answer"' not in again.text
