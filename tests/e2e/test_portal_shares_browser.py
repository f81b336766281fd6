"""The portal's CarData pages in a real browser (SPEC C1, C2; Data Act Art. 4-6): Playwright
driving Debian's headless Chromium against a real ``carprivacy serve`` on a demo-loaded
database (SQLite, and PostgreSQL when configured), with an insurer registered by the operator
(``carprivacy third-parties register``).

A demo customer creates and deletes a CarData client id; shares one vehicle's mileage with the
insurer (the insurer's API read follows at once), reads the terms and the history, revokes
(the insurer is refused at once); and approves the insurer's device code, after which the
insurer's own CarData client reads the vehicle through the CarData API. No JavaScript is
needed: every step is a form post. Each page is saved as a screenshot.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets as token_secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from test_portal_browser import (
    ARGS,
    CARPRIVACY,
    CHROMIUM,
    IN_CI,
    Portal,
    _free_port,
    _login,
    _shot,
    database,  # noqa: F401 - the fixture, used by portal below
)

pytestmark = pytest.mark.browser

INSURER = "demo_ubi_insurer"
MILEAGE = "Vehicle.TraveledDistance"
SPEED = "Vehicle.Speed"


def _cli(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [*CARPRIVACY, *args], env=env, check=True, capture_output=True, text=True, input=stdin
    )
    return done.stdout


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory, database: str) -> Iterator[Portal]:  # noqa: F811
    if not CHROMIUM.exists():
        if IN_CI:
            pytest.fail(f"{CHROMIUM} is missing and CI=true: the browser tests must not skip")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    root = tmp_path_factory.mktemp("portal-shares")
    env = {
        **os.environ,
        "CARPRIVACY_DATA_DIR": str(root / "var"),
        "CARPRIVACY_DATABASE_URL": database,
        "CARPRIVACY_ARGON2_TIME_COST": "1",
        "CARPRIVACY_ARGON2_MEMORY_KIB": "8192",
    }
    for name in ("CARPRIVACY_ADMIN_TOKEN", "CARPRIVACY_TOKEN_SECRET"):
        env.pop(name, None)
    _cli(env, "db", "upgrade")
    printed = _cli(env, "demo", "load").split("passwords / client secrets", 1)[1]
    secrets = dict(re.findall(r"^\s+(demo[-_][a-z]+)\s+(\S+)$", printed, re.MULTILINE))
    _cli(
        env, "third-parties", "register", "--id", INSURER, "--name", "Verzekeraar UBI N.V.",
        "--country", "NL", "--undertaking", "ubi_group",
    )  # fmt: skip
    made = _cli(
        env, "callers", "add", "--id", f"{INSURER}_api", "--name", "UBI API", "--kind",
        "machine", "--role", "partner", "--organisation", INSURER, "--generate-secret",
    )  # fmt: skip
    secret = re.search(r"secret\S*\s*[:=]?\s*(\S{20,})", made)
    assert secret is not None, made
    secrets[f"{INSURER}_api"] = secret.group(1)
    client_id = _cli(
        env, "third-parties", "add-client", "--party", INSURER, "--owner", f"{INSURER}_api",
        "--name", "UBI app", "--agreed-purpose", "verzekeringspremie naar gebruik",
        "--descriptors", MILEAGE, "--days", "30",
    ).strip()  # fmt: skip
    secrets["insurer_client"] = client_id
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
        yield Portal(base, secrets, root / "screenshots")
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
            java_script_enabled=False, viewport={"width": 1200, "height": 900}
        )
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


def _insurer(portal: Portal) -> dict[str, str]:
    r = httpx.post(
        f"{portal.base}/v1/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": f"{INSURER}_api",
            "client_secret": portal.secrets[f"{INSURER}_api"],
        },
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _owner(portal: Portal) -> dict[str, str]:
    return {"Authorization": f"Bearer {portal.token('demo-owner')}"}


def _first_vehicle(portal: Portal) -> str:
    r = httpx.get(f"{portal.base}/v1/me/vehicles", headers=_owner(portal))
    assert r.status_code == 200, r.text
    items = r.json()["items"] if isinstance(r.json(), dict) else r.json()
    return str(items[0]["id"])


def _insurer_reads(portal: Portal, vehicle_id: str) -> tuple[int, set[str]]:
    r = httpx.get(
        f"{portal.base}/v1/vehicles/{vehicle_id}/telemetry",
        params={"purpose": "cardata_sharing", "limit": 50},
        headers=_insurer(portal),
    )
    if r.status_code != 200:
        return r.status_code, set()
    return 200, {str(i["signal"]) for i in r.json()["items"]}


def test_a_customer_creates_and_deletes_a_cardata_client_id(
    portal: Portal, browser_page: object
) -> None:
    p: object = browser_page
    _login(portal, p)
    p.get_by_role("link", name="CarData-clients").first.click()  # type: ignore[attr-defined]
    _shot(portal, p, "clients-empty")
    p.get_by_label("Naam van de client").fill("Home Assistant")  # type: ignore[attr-defined]
    p.get_by_role("button", name="Client-id maken").click()  # type: ignore[attr-defined]
    made = p.locator("#made-client-id").inner_text()  # type: ignore[attr-defined]
    assert re.fullmatch(r"[0-9a-f-]{36}", made)
    row = p.locator("#clients tbody tr", has_text="Home Assistant")  # type: ignore[attr-defined]
    assert "cardata:api:read" in row.inner_text() and "cardata:streaming:read" in row.inner_text()
    _shot(portal, p, "clients-made")
    clients = httpx.get(f"{portal.base}/v1/me/cardata/clients", headers=_owner(portal)).json()
    assert made in {c["client_id"] for c in clients}
    row.get_by_role("button", name="Verwijderen: Home Assistant").click()
    assert p.get_by_role("status").inner_text() == "Verwijderd."  # type: ignore[attr-defined]
    _shot(portal, p, "clients-deleted")
    clients = httpx.get(f"{portal.base}/v1/me/cardata/clients", headers=_owner(portal)).json()
    assert made not in {c["client_id"] for c in clients}


def test_a_customer_shares_with_the_insurer_reads_the_terms_and_revokes(
    portal: Portal, browser_page: object
) -> None:
    p: object = browser_page
    vehicle = _first_vehicle(portal)
    assert _insurer_reads(portal, vehicle)[0] == 403
    _login(portal, p)
    p.get_by_role("link", name="Delen met derden").first.click()  # type: ignore[attr-defined]
    _shot(portal, p, "shares-empty")
    p.get_by_label("Externe partij").select_option(INSURER)  # type: ignore[attr-defined]
    p.locator(f'input[name="descriptor"][value="{MILEAGE}"]').check()  # type: ignore[attr-defined]
    p.get_by_label("Afgesproken doel").fill("verzekeringspremie naar gebruik")  # type: ignore[attr-defined]
    p.get_by_role("button", name="Delen", exact=True).click()  # type: ignore[attr-defined]
    assert p.locator("#share-state").inner_text() == "actief"  # type: ignore[attr-defined]
    terms = p.locator("#share-terms").inner_text()  # type: ignore[attr-defined]
    assert "alleen gebruiken voor het afgesproken doel" in terms and "niet aan" in terms
    assert p.locator("#share-history tbody tr").count() == 1  # type: ignore[attr-defined]
    # what is shared, by its name in the page's language
    assert "Kilometerstand (Vehicle.TraveledDistance)" in p.content()  # type: ignore[attr-defined]
    _shot(portal, p, "share-made")
    status, signals = _insurer_reads(portal, vehicle)
    assert status == 200 and signals == {MILEAGE}  # the mileage only, at once

    p.get_by_role("link", name="English").click()  # type: ignore[attr-defined]
    assert "may not pass it on" in p.locator("#share-terms").inner_text()  # type: ignore[attr-defined]
    _shot(portal, p, "share-terms-en")
    p.get_by_role("button", name="Revoke").click()  # type: ignore[attr-defined]
    assert p.locator("#share-state").inner_text() == "revoked"  # type: ignore[attr-defined]
    history = p.locator("#share-history tbody tr")  # type: ignore[attr-defined]
    assert history.count() == 2 and "revoked by you" in history.nth(1).inner_text()
    _shot(portal, p, "share-revoked")
    assert _insurer_reads(portal, vehicle)[0] == 403  # refused at once
    p.get_by_role("link", name="Back to sharing").click()  # type: ignore[attr-defined]
    assert "revoked" in p.locator("#shares tbody tr").first.inner_text()  # type: ignore[attr-defined]
    _shot(portal, p, "shares-list")
    p.get_by_role("link", name="Nederlands").click()  # type: ignore[attr-defined]


def test_a_customer_approves_the_insurers_device_code_and_it_reads_the_cardata_api(
    portal: Portal, browser_page: object
) -> None:
    p: object = browser_page
    client_id = portal.secrets["insurer_client"]
    verifier = token_secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    device = httpx.post(
        f"{portal.base}/gcdm/oauth/device/code",
        data={
            "client_id": client_id,
            "response_type": "device_code",
            "scope": "openid cardata:api:read",
            "code_challenge": challenge.decode(),
            "code_challenge_method": "S256",
        },
    ).json()
    _login(portal, p)
    complete = device["verification_uri_complete"]
    p.goto(portal.base + complete[complete.index("/portal/") :])  # type: ignore[attr-defined]
    _shot(portal, p, "device-code")
    p.get_by_role("button", name="Goedkeuren").click()  # type: ignore[attr-defined]
    assert p.locator("#request-party").inner_text() == "Verzekeraar UBI N.V."  # type: ignore[attr-defined]
    assert "niet aan anderen doorgeven" in p.locator("#request-terms").inner_text()  # type: ignore[attr-defined]
    _shot(portal, p, "share-request")
    p.get_by_role("button", name="Goedkeuren").click()  # type: ignore[attr-defined]
    assert p.locator("#share-state").inner_text() == "actief"  # type: ignore[attr-defined]
    _shot(portal, p, "share-approved")
    tokens = httpx.post(
        f"{portal.base}/gcdm/oauth/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "device_code": device["device_code"],
            "client_id": client_id,
            "code_verifier": verifier,
        },
    )
    assert tokens.status_code == 200, tokens.text
    api = {"Authorization": f"Bearer {tokens.json()['access_token']}", "x-version": "v1"}
    mappings = httpx.get(f"{portal.base}/customers/vehicles/mappings", headers=api)
    assert mappings.status_code == 200 and len(mappings.json()) == 1, mappings.text
    vin = mappings.json()[0]["vin"]
    made = httpx.post(
        f"{portal.base}/customers/containers",
        headers=api,
        json={"name": "ubi", "purpose": "premium", "technicalDescriptors": [MILEAGE, SPEED]},
    )
    assert made.status_code == 201, made.text
    data = httpx.get(
        f"{portal.base}/customers/vehicles/{vin}/telematicData",
        headers=api,
        params={"containerId": made.json()["containerId"]},
    )
    assert data.status_code == 200, data.text
    assert (
        set(data.json()["telematicData"]) <= {MILEAGE}
        and SPEED in data.json()["missingDescriptors"]
    )
    assert len(portal.taken) >= 4 and all(s.stat().st_size > 5000 for s in portal.taken)
