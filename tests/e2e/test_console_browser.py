"""The privacy officer's console in a real browser (SPEC R7, L1, L2, C4, U3, P7): Playwright
driving Debian's headless Chromium against a real ``carprivacy serve`` on a demo-loaded database
(SQLite, and PostgreSQL when configured), the same server fixture as the portal's browser test.

Staff of another role is refused with the rule; the demo's privacy officer (``demo-dpo``) logs
in and visits every page: requests, legal holds (one placed and released), consent statistics,
retention (a dry run started), the audit log (intact), the register and the policy validation,
in Dutch and English, and logs out. Every request the pages make goes to the platform itself.
Each page is saved as a screenshot under the test's ``tmp_path/screenshots/``."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.e2e.test_portal_browser import (  # the server fixtures, shared with the portal's test
    ARGS,
    CHROMIUM,
    Portal,
    database,
    portal,
)

pytestmark = pytest.mark.browser
__all__ = ["database", "portal"]


@pytest.fixture
def console_page(portal: Portal, tmp_path: Path) -> Iterator[tuple[object, list[str]]]:
    from playwright.sync_api import sync_playwright

    portal.shots = tmp_path / "screenshots"
    portal.taken = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.on("request", lambda r: requests.append(r.url))
        try:
            yield page, requests
        finally:
            context.close()
            browser.close()


def _shot(portal: Portal, page: object, name: str) -> None:
    portal.shots.mkdir(parents=True, exist_ok=True)
    path = portal.shots / f"{len(portal.taken) + 1:02d}-console-{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    portal.taken.append(path)


def _log_in(portal: Portal, p: object, login: str) -> None:
    p.get_by_label("Gebruikersnaam of e-mailadres").fill(login)  # type: ignore[attr-defined]
    p.get_by_label("Wachtwoord").fill(portal.secrets[login])  # type: ignore[attr-defined]
    p.get_by_role("button", name="Inloggen").click()  # type: ignore[attr-defined]


def test_the_privacy_officer_visits_every_console_page(
    portal: Portal, console_page: tuple[object, list[str]]
) -> None:
    page, requests = console_page
    p: object = page
    base = portal.base
    owner = {"Authorization": f"Bearer {portal.token('demo-owner')}"}
    subject = httpx.get(f"{base}/v1/me/customer", headers=owner).json()["id"]

    p.goto(f"{base}/console/")  # type: ignore[attr-defined]
    assert p.url.endswith("/console/login")  # type: ignore[attr-defined]
    _shot(portal, p, "login")
    _log_in(portal, p, "demo-desk")  # staff of another role: refused, the rule named
    refused = p.get_by_role("alert").inner_text()  # type: ignore[attr-defined]
    assert "customer_service" in refused and "console.privacy_officer" in refused
    _shot(portal, p, "refused")

    _log_in(portal, p, "demo-dpo")
    p.wait_for_url(f"{base}/console/")  # type: ignore[attr-defined]
    cookie = next(c for c in p.context.cookies() if c["name"] == "carprivacy_console")  # type: ignore[attr-defined]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/console"
    _shot(portal, p, "overview")

    p.get_by_role("navigation", name="Hoofdmenu").get_by_role("link", name="Verzoeken").click()  # type: ignore[attr-defined]
    p.wait_for_url(f"{base}/console/requests")  # type: ignore[attr-defined]
    assert p.get_by_role("heading", name="Verzoeken").count() == 1  # type: ignore[attr-defined]
    _shot(portal, p, "requests")

    # a legal hold on the demo owner's position data, then released
    p.get_by_role("link", name="Bewaarplichten (legal holds)").click()  # type: ignore[attr-defined]
    p.wait_for_url(f"{base}/console/holds")  # type: ignore[attr-defined]
    p.get_by_label("Betrokkene (id)").fill(subject)  # type: ignore[attr-defined]
    p.get_by_label("Categorie").select_option("position_movement")  # type: ignore[attr-defined]
    p.get_by_label("Reden", exact=True).fill("claim 2026-117: accident report requested")  # type: ignore[attr-defined]
    p.get_by_role("button", name="Opleggen").click()  # type: ignore[attr-defined]
    p.wait_for_url(f"{base}/console/holds?done=placed")  # type: ignore[attr-defined]
    assert p.get_by_role("status").inner_text() == "De bewaarplicht is opgelegd."  # type: ignore[attr-defined]
    row = p.locator("table.holds tbody tr.active").first  # type: ignore[attr-defined]
    assert "claim 2026-117" in row.inner_text() and "demo-dpo" in row.inner_text()
    _shot(portal, p, "hold-placed")
    row.get_by_placeholder("Reden van opheffing").fill("report sent, claim closed")
    row.get_by_role("button").click()
    p.wait_for_url(f"{base}/console/holds?done=released")  # type: ignore[attr-defined]
    assert p.get_by_role("status").inner_text() == "De bewaarplicht is opgeheven."  # type: ignore[attr-defined]
    assert "report sent, claim closed" in p.locator("table.holds tr.released").first.inner_text()  # type: ignore[attr-defined]
    _shot(portal, p, "hold-released")

    p.get_by_role("link", name="Toestemmingen").click()  # type: ignore[attr-defined]
    p.wait_for_url(f"{base}/console/consents")  # type: ignore[attr-defined]
    assert p.locator("figure.chart svg").count() >= 2  # type: ignore[attr-defined]
    assert int(p.locator("#topic-marketing_email td.given").inner_text()) >= 1  # type: ignore[attr-defined]
    _shot(portal, p, "consents")

    p.get_by_role("link", name="Bewaartermijnen").click()  # type: ignore[attr-defined]
    p.wait_for_url(f"{base}/console/retention")  # type: ignore[attr-defined]
    p.get_by_role("button", name="Proefrun starten").click()  # type: ignore[attr-defined]
    p.wait_for_url(f"{base}/console/retention/dry-run")  # type: ignore[attr-defined]
    assert "Er is niets veranderd" in p.locator("#dry-run").inner_text()  # type: ignore[attr-defined]
    _shot(portal, p, "retention-dry-run")

    p.get_by_role("link", name="Auditlog").click()  # type: ignore[attr-defined]
    p.wait_for_url(f"{base}/console/audit")  # type: ignore[attr-defined]
    assert "Intact" in p.locator("#integrity").inner_text()  # type: ignore[attr-defined]
    assert p.locator("table.entries tbody tr").count() >= 10  # type: ignore[attr-defined]
    assert subject not in p.content()  # type: ignore[attr-defined]
    _shot(portal, p, "audit")
    alerts = p.locator("table.alerts tbody tr")  # type: ignore[attr-defined]
    if alerts.count():  # off-hours reads raise alerts, depending on the time the test runs
        alerts.first.get_by_placeholder("Bevinding").fill("nightly check by the desk, agreed")
        alerts.first.get_by_role("button", name="Reactie vastleggen").click()
        p.wait_for_url(f"{base}/console/audit?done=acknowledged#alerts")  # type: ignore[attr-defined]
        assert p.locator("p.note").inner_text() == "De reactie is vastgelegd."  # type: ignore[attr-defined]
        assert "nightly check by the desk" in p.locator("table.alerts").inner_text()  # type: ignore[attr-defined]
        _shot(portal, p, "audit-acknowledged")

    p.get_by_role("link", name="Verwerkingsregister").click()  # type: ignore[attr-defined]
    p.wait_for_url(f"{base}/console/register")  # type: ignore[attr-defined]
    assert p.locator("section.purpose").count() >= 10  # type: ignore[attr-defined]
    assert p.locator("table.register tbody tr").count() == p.locator("section.purpose").count()  # type: ignore[attr-defined]
    _shot(portal, p, "register")
    menu = p.get_by_role("navigation", name="Hoofdmenu")  # type: ignore[attr-defined]
    menu.get_by_role("link", name="Beleidscontrole").click()
    p.wait_for_url(f"{base}/console/policy")  # type: ignore[attr-defined]
    assert "Geldig" in p.locator("#validation").inner_text()  # type: ignore[attr-defined]
    _shot(portal, p, "policy")

    p.get_by_role("link", name="English").click()  # type: ignore[attr-defined]
    p.get_by_role("heading", name="Policy validation").wait_for()  # type: ignore[attr-defined]
    assert p.get_by_role("heading", name="Policy validation").count() == 1  # type: ignore[attr-defined]
    p.get_by_role("link", name="Overview").click()  # type: ignore[attr-defined]
    p.wait_for_url(f"{base}/console/")  # type: ignore[attr-defined]
    _shot(portal, p, "overview-en")
    p.get_by_role("button", name="Log out").click()  # type: ignore[attr-defined]
    assert p.get_by_role("status").inner_text() == "You are logged out."  # type: ignore[attr-defined]
    p.goto(f"{base}/console/audit")  # type: ignore[attr-defined]
    assert p.url.endswith("/console/login")  # type: ignore[attr-defined]

    elsewhere = [u for u in requests if not u.startswith(base + "/")]
    assert not elsewhere, elsewhere
    assert any(u.endswith("/console/static/console.css") for u in requests)
    assert len(portal.taken) >= 11 and all(s.stat().st_size > 5000 for s in portal.taken)


@pytest.fixture
def live_console(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """The API app on the in-memory demo, served by uvicorn in this process, with the requests
    port fed by requests made by the domain's workflow (the store is another part's)."""
    import threading

    import uvicorn
    from tests.e2e.test_console_pages import _requests

    from carprivacy.config import Settings
    from carprivacy.entrypoints.api.app import create_app
    from carprivacy.services.demo.callers import load_callers
    from carprivacy.services.demo.master_data import load_demo
    from carprivacy.testing import InMemoryRequestsOverview
    from carprivacy.testing.bootstrap import bootstrap_in_memory

    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    settings = Settings(data_dir=tmp_path / "var", argon2_time_cost=1, argon2_memory_kib=8)
    services = bootstrap_in_memory(settings)
    summary = load_demo(services.master, 2024)
    logins = load_callers(services.callers, summary.customer_ids, summary.fleet_id)
    services.requests_overview = InMemoryRequestsOverview(_requests(services.retention.clock()))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(create_app(services), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started
        yield f"http://127.0.0.1:{port}", {x.caller.id: x.secret or "" for x in logins}
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_the_requests_timeline_in_the_browser(
    live_console: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    base, secrets = live_console
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.goto(f"{base}/console/login")
            page.get_by_label("Gebruikersnaam of e-mailadres").fill("demo-dpo")
            page.get_by_label("Wachtwoord").fill(secrets["demo-dpo"])
            page.get_by_role("button", name="Inloggen").click()
            page.wait_for_url(f"{base}/console/")
            assert page.locator(".flags li.overdue strong").inner_text() == "1"
            page.screenshot(path=str(shots / "01-console-overview-requests.png"), full_page=True)
            page.get_by_role("link", name="Verzoeken").first.click()
            page.wait_for_url(f"{base}/console/requests")
            chart = page.get_by_role("img", name="Verzoeken: ontvangst tot termijn")
            assert chart.count() == 1 and chart.bounding_box()["height"] > 200  # type: ignore[index]
            rows = page.locator("table.requests tbody tr")
            assert rows.count() == 5
            assert "te laat" in rows.first.inner_text()
            assert "subject-secret" not in page.content()
            page.screenshot(path=str(shots / "02-console-requests.png"), full_page=True)
        finally:
            browser.close()
    assert all(s.stat().st_size > 5000 for s in shots.iterdir())
