"""The CarData customer flow end to end in a real browser (SPEC C1, C2, U1-U3; notice H; Data
Act Art. 4-6): Playwright driving Debian's headless Chromium against a real ``carprivacy serve``
with the stream on (the project's Mosquitto over TLS with its dynamic security plugin), on a
demo-loaded database (SQLite, and PostgreSQL when configured).

The demo customer logs in; withdraws and gives the e-mail marketing consent; approves the device
code the demo insurer's CarData client started (a share of one vehicle's mileage); the insurer
reads it through the CarData API (``telematicData``) and receives it on the stream (paho over
TLS, its own account, its id token); the customer revokes in the portal; the insurer is refused
by the API and cut off the stream within 5 seconds; the customer downloads the CSV. Each page
is saved as a screenshot.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets as token_secrets
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from stream_support import StreamSubscriber
from test_portal_browser import (
    ARGS,
    CARPRIVACY,
    CHROMIUM,
    IN_CI,
    Portal,
    _free_port,
    _login,
    _mailer_status,
    _shot,
    database,  # noqa: F401 - the fixture, used by portal below
)

from carprivacy.services.demo.third_parties import DEMO_PARTY
from carprivacy.testing.stream_broker import StreamBrokerInfo

pytestmark = pytest.mark.browser

MILEAGE = "Vehicle.TraveledDistance"
SPEED = "Vehicle.Speed"
CUT_OFF = 5.0  # seconds: a revoked share ends the insurer's reads and stream within this


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([*CARPRIVACY, *args], env=env, check=True, capture_output=True, text=True)
    return done.stdout


@pytest.fixture(scope="module")
def portal(
    tmp_path_factory: pytest.TempPathFactory,
    database: str,  # noqa: F811
    stream_broker: StreamBrokerInfo,
) -> Iterator[Portal]:
    if not CHROMIUM.exists():
        if IN_CI:
            pytest.fail(f"{CHROMIUM} is missing and CI=true: the browser tests must not skip")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    root = tmp_path_factory.mktemp("cardata-flow")
    b = stream_broker
    env = {
        **os.environ,
        "CARPRIVACY_DATA_DIR": str(root / "var"),
        "CARPRIVACY_DATABASE_URL": database,
        "CARPRIVACY_ARGON2_TIME_COST": "1",
        "CARPRIVACY_ARGON2_MEMORY_KIB": "8192",
        "CARPRIVACY_STREAM_HOST": b.host,
        "CARPRIVACY_STREAM_PORT": str(b.port),
        "CARPRIVACY_STREAM_TLS_CA": str(b.ca),
        "CARPRIVACY_STREAM_ADMIN_PASSWORD": b.admin_password,
        "CARPRIVACY_STREAM_PUBLISHER_PASSWORD": b.publisher_password,
        "CARPRIVACY_STREAM_RECONCILE_SECONDS": "0.5",
    }
    for name in ("CARPRIVACY_ADMIN_TOKEN", "CARPRIVACY_TOKEN_SECRET"):
        env.pop(name, None)
    _cli(env, "db", "upgrade")
    printed = _cli(env, "demo", "load").split("passwords / client secrets", 1)[1]
    secrets = dict(re.findall(r"^\s+(demo[-_][a-z]+)\s+(\S+)$", printed, re.MULTILINE))
    _cli(
        env, "callers", "add", "--id", f"{DEMO_PARTY}_api", "--name", "UBI API", "--kind",
        "machine", "--role", "partner", "--organisation", DEMO_PARTY, "--generate-secret",
    )  # fmt: skip
    secrets["insurer_client"] = _cli(
        env, "third-parties", "add-client", "--party", DEMO_PARTY, "--owner", f"{DEMO_PARTY}_api",
        "--name", "UBI app", "--agreed-purpose", "verzekeringspremie naar gebruik",
        "--descriptors", MILEAGE, "--days", "30",
        "--scopes", "cardata:api:read,cardata:streaming:read",
    ).strip()  # fmt: skip
    port = _free_port()
    proc = subprocess.Popen(
        [*CARPRIVACY, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                assert proc.poll() is None, proc.communicate()[0]
                time.sleep(0.2)
        portal = Portal(base, secrets, root / "screenshots")
        portal.env = env  # type: ignore[attr-defined]
        yield portal
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


@pytest.fixture
def browser_page(portal: Portal, tmp_path: Path) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    portal.shots = tmp_path / "screenshots"
    portal.taken = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        context = browser.new_context(
            accept_downloads=True, viewport={"width": 1200, "height": 900}
        )
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


def _device_code(portal: Portal) -> tuple[dict[str, Any], str]:
    """The insurer's CarData client starts the device flow (PKCE S256)."""
    verifier = token_secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    r = httpx.post(
        f"{portal.base}/gcdm/oauth/device/code",
        data={
            "client_id": portal.secrets["insurer_client"],
            "response_type": "device_code",
            "scope": "openid cardata:api:read cardata:streaming:read",
            "code_challenge": challenge.decode(),
            "code_challenge_method": "S256",
        },
    )
    assert r.status_code == 200, r.text
    return r.json(), verifier


def _telematic(portal: Portal, api: dict[str, str], vin: str, container: str) -> httpx.Response:
    return httpx.get(
        f"{portal.base}/customers/vehicles/{vin}/telematicData",
        headers=api,
        params={"containerId": container},
    )


def _post_mileage(portal: Portal, vin: str, value: float) -> None:
    token = _cli(portal.env, "vehicles", "credential", vin).strip()  # type: ignore[attr-defined]
    when = (datetime.now(UTC) - timedelta(seconds=2)).isoformat()
    r = httpx.post(
        f"{portal.base}/v1/telemetry",
        content=json.dumps([{"signal": MILEAGE, "value": value, "ts": when}]).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert r.status_code in (200, 201, 207) and r.json()["accepted"] == 1, r.text


def test_the_cardata_flow_from_consent_to_a_revoked_share_and_the_csv(
    portal: Portal, browser_page: object, stream_broker: StreamBrokerInfo
) -> None:
    p: object = browser_page
    owner = {"Authorization": f"Bearer {portal.token('demo-owner')}"}
    subject = httpx.get(f"{portal.base}/v1/me/customer", headers=owner).json()["id"]
    _login(portal, p)
    _shot(portal, p, "overview")

    # withdraw and give the e-mail marketing consent
    p.get_by_role("link", name="Privacy-instellingen").first.click()  # type: ignore[attr-defined]
    _shot(portal, p, "privacy")
    row = p.locator("#topic-marketing_email")  # type: ignore[attr-defined]
    row.get_by_role("button", name="Intrekken").click()
    assert "niet gegeven" in row.locator(".state").inner_text()
    _shot(portal, p, "privacy-withdrawn")
    assert _mailer_status(portal, subject) == 403
    row.get_by_role("button", name="Toestemming geven").click()
    assert "gegeven" in row.locator(".state").inner_text()
    assert "niet gegeven" not in row.locator(".state").inner_text()
    _shot(portal, p, "privacy-given")
    assert _mailer_status(portal, subject) == 200

    # the insurer's CarData client asks; the customer approves its device code: the share
    device, verifier = _device_code(portal)
    complete = device["verification_uri_complete"]
    p.goto(portal.base + complete[complete.index("/portal/") :])  # type: ignore[attr-defined]
    _shot(portal, p, "device-code")
    p.get_by_role("button", name="Goedkeuren").click()  # type: ignore[attr-defined]
    assert p.locator("#request-party").inner_text() == "Demo Verzekeringen N.V."  # type: ignore[attr-defined]
    _shot(portal, p, "share-request")
    p.get_by_role("button", name="Goedkeuren").click()  # type: ignore[attr-defined]
    assert p.locator("#share-state").inner_text() == "actief"  # type: ignore[attr-defined]
    _shot(portal, p, "share-active")

    # the insurer reads it: the CarData API, then the stream
    tokens = httpx.post(
        f"{portal.base}/gcdm/oauth/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "device_code": device["device_code"],
            "client_id": portal.secrets["insurer_client"],
            "code_verifier": verifier,
        },
    )
    assert tokens.status_code == 200, tokens.text
    t = tokens.json()
    api = {"Authorization": f"Bearer {t['access_token']}", "x-version": "v1"}
    mappings = httpx.get(f"{portal.base}/customers/vehicles/mappings", headers=api).json()
    assert len(mappings) == 1, mappings
    vin = mappings[0]["vin"]
    made = httpx.post(
        f"{portal.base}/customers/containers",
        headers=api,
        json={"name": "ubi", "purpose": "premium", "technicalDescriptors": [MILEAGE, SPEED]},
    )
    assert made.status_code == 201, made.text
    container = made.json()["containerId"]
    read = _telematic(portal, api, vin, container)
    assert read.status_code == 200, read.text
    assert set(read.json()["telematicData"]) == {MILEAGE}  # speed is not shared
    latest = float(read.json()["telematicData"][MILEAGE]["value"])

    b = stream_broker
    deadline = time.monotonic() + 15
    while True:
        s = StreamSubscriber(b.host, b.port, b.ca, t["gcid"], t["id_token"])
        if s.connect():
            break
        s.close()
        assert time.monotonic() < deadline, f"the insurer was not let in: {s.connack}"
        time.sleep(0.3)
    try:
        assert s.subscribe(f"{t['gcid']}/#") == ["Granted QoS 1"]
        _post_mileage(portal, vin, latest + 25.0)
        topic, body = s.next_message(timeout=15)
        assert topic == f"{t['gcid']}/{vin}" and set(body["data"]) == {MILEAGE}
        assert float(body["data"][MILEAGE]["value"]) == latest + 25.0

        # the customer revokes in the portal: refused by the API, cut off the stream, in 5 s
        started = time.monotonic()
        p.get_by_role("button", name="Intrekken").click()  # type: ignore[attr-defined]
        assert p.locator("#share-state").inner_text() == "ingetrokken"  # type: ignore[attr-defined]
        _shot(portal, p, "share-revoked")
        refused = _telematic(portal, api, vin, container)
        assert refused.status_code in (403, 404), refused.text
        refused_after = time.monotonic() - started
        ended = s.wait_disconnected(timeout=3 * CUT_OFF)
        assert ended is not None, "the insurer's stream stayed open"
        assert refused_after < CUT_OFF and ended - started < CUT_OFF
        again = StreamSubscriber(b.host, b.port, b.ca, t["gcid"], t["id_token"])
        assert not again.connect()  # nothing to receive: refused
        again.close()
    finally:
        s.close()

    # the customer's own data as CSV
    p.get_by_role("link", name="Mijn voertuigen").first.click()  # type: ignore[attr-defined]
    _shot(portal, p, "vehicles")
    p.locator("table tbody tr").first.get_by_role("link").click()  # type: ignore[attr-defined]
    _shot(portal, p, "vehicle")
    with p.expect_download() as info:  # type: ignore[attr-defined]
        p.get_by_role("link", name="Downloaden CSV").click()  # type: ignore[attr-defined]
    header, *rows = Path(info.value.path()).read_text().splitlines()
    assert header == "ts,signal,value,unit,category,vehicle_id,subject_id"
    assert rows and all(r.endswith(subject) for r in rows[:50])
    assert len(portal.taken) >= 9 and all(f.stat().st_size > 5000 for f in portal.taken)
