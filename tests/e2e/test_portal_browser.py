"""The customer's portal in a real browser (SPEC C1, C2, C4, R1, U1, U2): Playwright driving
Debian's headless Chromium against a real ``carprivacy serve`` on a demo-loaded database (SQLite,
and PostgreSQL when configured).

A demo customer logs in, sees their vehicles and a chart, withdraws and gives the e-mail
marketing consent (the marketing partner's API read is refused, then allowed again), downloads
a CSV, sees their data and logs out; a forged form post is refused; every request the pages make
goes to the platform itself (no CDN). Each page is saved as a screenshot under the test's
artifacts directory. With ``CI=true`` a missing Chromium fails these tests instead of skipping.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from tests.conftest import _reachable, _unavailable, postgres_url

from carprivacy.adapters.db.engine import make_engine

pytestmark = pytest.mark.browser

CHROMIUM = Path(os.environ.get("CARPRIVACY_TEST_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CARPRIVACY = [sys.executable, "-m", "carprivacy.entrypoints.cli.main"]
MAIL = "marketing_email"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Portal:
    base: str
    secrets: dict[str, str]
    shots: Path
    taken: list[Path] = field(default_factory=list)

    def token(self, login: str) -> str:
        if login.startswith("demo-") and login != "demo-mailer":
            r = httpx.post(
                f"{self.base}/v1/auth/login",
                json={"login": login, "password": self.secrets[login]},
            )
        else:
            form = {"grant_type": "client_credentials", "client_id": login}
            r = httpx.post(
                f"{self.base}/v1/oauth/token", data={**form, "client_secret": self.secrets[login]}
            )
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The demo's database: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('portal-db') / 'portal.db'}"
        return
    url = postgres_url()
    if url is None or not _reachable("127.0.0.1", 5432):
        _unavailable("PostgreSQL (CARPRIVACY_TEST_POSTGRES_URL)")
        return
    schema = f"portal_{os.getpid()}_{int(time.time())}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory, database: str) -> Iterator[Portal]:
    if not CHROMIUM.exists():
        if IN_CI:
            pytest.fail(f"{CHROMIUM} is missing and CI=true: the browser tests must not skip")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    root = tmp_path_factory.mktemp("portal")
    env = {
        **os.environ,
        "CARPRIVACY_DATA_DIR": str(root / "var"),
        "CARPRIVACY_DATABASE_URL": database,
        "CARPRIVACY_ARGON2_TIME_COST": "1",
        "CARPRIVACY_ARGON2_MEMORY_KIB": "8192",
    }
    for name in ("CARPRIVACY_ADMIN_TOKEN", "CARPRIVACY_TOKEN_SECRET"):
        env.pop(name, None)
    subprocess.run([*CARPRIVACY, "db", "upgrade"], env=env, check=True, capture_output=True)
    loaded = subprocess.run(
        [*CARPRIVACY, "demo", "load"], env=env, check=True, capture_output=True, text=True
    )
    printed = loaded.stdout.split("passwords / client secrets", 1)[1]
    secrets = dict(re.findall(r"^\s+(demo[-_][a-z]+)\s+(\S+)$", printed, re.MULTILINE))
    assert "demo-owner" in secrets and "demo-mailer" in secrets
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
        out, _ = proc.communicate(timeout=10)
    assert "/portal/" in out  # the address serve prints names the portal
    for secret in secrets.values():
        assert secret not in out  # no password or secret in the server's output


@pytest.fixture
def browser_page(portal: Portal, tmp_path: Path) -> Iterator[tuple[object, list[str]]]:
    from playwright.sync_api import sync_playwright

    portal.shots = tmp_path / "screenshots"
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        context = browser.new_context(
            accept_downloads=True, viewport={"width": 1200, "height": 900}
        )
        page = context.new_page()
        page.on("request", lambda r: requests.append(r.url))
        try:
            yield page, requests
        finally:
            context.close()
            browser.close()


def _shot(portal: Portal, page: object, name: str) -> None:
    portal.shots.mkdir(parents=True, exist_ok=True)
    path = portal.shots / f"{len(portal.taken) + 1:02d}-{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    portal.taken.append(path)


def _login(portal: Portal, page: object, login: str = "demo-owner") -> None:
    page.goto(f"{portal.base}/portal/")  # type: ignore[attr-defined]
    assert page.url.endswith("/portal/login")  # type: ignore[attr-defined]
    _shot(portal, page, "login")
    page.get_by_label("Gebruikersnaam of e-mailadres").fill(login)  # type: ignore[attr-defined]
    page.get_by_label("Wachtwoord").fill(portal.secrets[login])  # type: ignore[attr-defined]
    page.get_by_role("button", name="Inloggen").click()  # type: ignore[attr-defined]
    page.wait_for_url(f"{portal.base}/portal/")  # type: ignore[attr-defined]


def _mailer_status(portal: Portal, subject: str) -> int:
    r = httpx.get(
        f"{portal.base}/v1/customers/{subject}",
        headers={"Authorization": f"Bearer {portal.token('demo-mailer')}", "X-Purpose": MAIL},
    )
    return r.status_code


def test_a_customer_uses_the_portal_from_login_to_logout(
    portal: Portal, browser_page: tuple[object, list[str]]
) -> None:
    page, requests = browser_page
    p: object = page
    owner = {"Authorization": f"Bearer {portal.token('demo-owner')}"}
    subject = httpx.get(f"{portal.base}/v1/me/customer", headers=owner).json()["id"]

    _login(portal, p)
    _shot(portal, p, "overview")
    cookie = next(c for c in p.context.cookies() if c["name"].endswith("carprivacy_session"))  # type: ignore[attr-defined]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert not cookie["secure"]  # plain HTTP on loopback (development) only

    p.get_by_role("link", name="Mijn voertuigen").first.click()  # type: ignore[attr-defined]
    assert p.locator("table tbody tr").count() >= 1  # type: ignore[attr-defined]
    _shot(portal, p, "vehicles")
    p.locator("table tbody tr").first.get_by_role("link").click()  # type: ignore[attr-defined]
    assert p.locator("figure.chart svg").count() >= 3  # type: ignore[attr-defined]
    assert p.get_by_role("img", name="Kilometerstand").count() == 1  # type: ignore[attr-defined]
    _shot(portal, p, "vehicle")

    # the period's values as CSV: the own-data telemetry stream
    with p.expect_download() as info:  # type: ignore[attr-defined]
        p.get_by_role("link", name="Downloaden CSV").click()  # type: ignore[attr-defined]
    csv_text = Path(info.value.path()).read_text()
    header, *rows = csv_text.splitlines()
    assert header == "ts,signal,value,unit,category,vehicle_id,subject_id"
    assert len(rows) > 1000 and all(r.endswith(subject) for r in rows[:50])

    # withdraw and give the e-mail marketing consent; the partner's read follows at once
    assert _mailer_status(portal, subject) == 200
    p.get_by_role("link", name="Privacy-instellingen").click()  # type: ignore[attr-defined]
    _shot(portal, p, "privacy")
    row = p.locator("#topic-marketing_email")  # type: ignore[attr-defined]
    row.get_by_role("button", name="Intrekken").click()
    assert p.get_by_role("status").inner_text() == "Uw keuze is vastgelegd."  # type: ignore[attr-defined]
    assert "niet gegeven" in row.locator(".state").inner_text()
    _shot(portal, p, "privacy-withdrawn")
    assert _mailer_status(portal, subject) == 403
    assert "werkplaatsen" in p.locator("#topic-obfcm_refusal").inner_text()  # type: ignore[attr-defined]
    assert p.locator("#topic-obfcm_refusal form").count() == 0  # type: ignore[attr-defined]
    row.get_by_role("button", name="Toestemming geven").click()
    assert "gegeven" in row.locator(".state").inner_text()
    assert _mailer_status(portal, subject) == 200
    history = httpx.get(f"{portal.base}/v1/me/consents", headers=owner).json()["entries"]
    given = [e for e in history if e["topic"] == MAIL and e["channel"] == "portal"]
    assert [e["kind"] for e in given][-2:] == ["consent_withdrawn", "consent_given"]
    assert given[-1]["language"] == "nl" and given[-1]["text_version"] == "1"

    # English, then my data with the choices just made
    p.get_by_role("link", name="English").click()  # type: ignore[attr-defined]
    p.get_by_role("link", name="My data").click()  # type: ignore[attr-defined]
    assert p.locator("table.held tbody tr").count() >= 10  # type: ignore[attr-defined]
    assert p.get_by_text("consent_withdrawn").count() >= 1  # type: ignore[attr-defined]
    _shot(portal, p, "my-data")

    p.get_by_role("button", name="Log out").click()  # type: ignore[attr-defined]
    assert p.get_by_role("status").inner_text() == "You are logged out."  # type: ignore[attr-defined]
    _shot(portal, p, "logged-out")
    p.goto(f"{portal.base}/portal/my-data")  # type: ignore[attr-defined]
    assert p.url.endswith("/portal/login")  # type: ignore[attr-defined]

    # no CDN: every request the pages made went to the platform itself
    elsewhere = [u for u in requests if not u.startswith(portal.base + "/")]
    assert not elsewhere, elsewhere
    assert any(u.endswith("/portal/static/portal.css") for u in requests)
    assert len(portal.taken) >= 7 and all(s.stat().st_size > 5000 for s in portal.taken)


def test_a_forged_form_post_is_refused(
    portal: Portal, browser_page: tuple[object, list[str]]
) -> None:
    page, _ = browser_page
    p: object = page
    _login(portal, p)
    owner = {"Authorization": f"Bearer {portal.token('demo-owner')}"}
    before = httpx.get(f"{portal.base}/v1/me/consents", headers=owner).json()["entries"]
    form = {"topic": "marketing_post", "choice": "give", "text_version": "1", "shown_in": "nl"}
    url = f"{portal.base}/portal/privacy/consents"
    # the session's own cookie, but no token, or a token of another session
    missing = p.context.request.post(url, form=form)  # type: ignore[attr-defined]
    other = httpx.get(f"{portal.base}/portal/login").text
    foreign = re.search(r'name="csrf_token" value="([^"]+)"', other)
    assert foreign is not None
    wrong = p.context.request.post(url, form={**form, "csrf_token": foreign.group(1)})  # type: ignore[attr-defined]
    for answer in (missing, wrong):
        assert answer.status == 403
        assert "csrf_token" in answer.text() and "Traceback" not in answer.text()
    # a cross-site page that posts the form: refused too (and the cookie is not even sent)
    p.set_content(  # type: ignore[attr-defined]
        f'<form method="post" action="{url}"><input name="topic" value="marketing_post">'
        '<input name="choice" value="give"><button>go</button></form>'
    )
    p.get_by_role("button", name="go").click()  # type: ignore[attr-defined]
    assert "csrf_token" in p.content()  # type: ignore[attr-defined]
    _shot(portal, p, "forged")
    after = httpx.get(f"{portal.base}/v1/me/consents", headers=owner).json()["entries"]
    assert after == before  # nothing was recorded
