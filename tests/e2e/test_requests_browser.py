"""The six rights requests end to end in a real browser (SPEC R1-R8; Art. 12, 15-21 GDPR):
Playwright driving Debian's headless Chromium against a real ``carprivacy serve`` on a
demo-loaded database (SQLite, and PostgreSQL when configured), the portal's server fixture.

The demo customer (``demo-owner``) submits each kind in the portal: access, rectification,
restriction, portability (no transmission), objection and erasure. The demo privacy officer
(``demo-dpo``) opens each from the console's requests list and carries it out before its
deadline; the customer sees every request answered in the portal and downloads the access copy.
The erasure is carried out last. Each step is saved as a screenshot under the test's
``tmp_path/screenshots/``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

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

KINDS = (
    ("access", "inzage (art. 15 AVG)", {}),
    ("rectification", "rectificatie (art. 16 AVG)", {"field": "city", "value": "Haarlem"}),
    ("restriction", "beperking van de verwerking (art. 18 AVG)", {"case": "accuracy_contested"}),
    ("portability", "overdraagbaarheid van gegevens (art. 20 AVG)", {}),
    ("objection", "bezwaar (art. 21 AVG)", {"purpose": "marketing"}),
    ("erasure", "wissing (art. 17 AVG)", {}),
)
ANSWERED = ("afgehandeld", "gedeeltelijk afgewezen")


@pytest.fixture
def pages(portal: Portal, tmp_path: Path) -> Iterator[tuple[object, object, list[str]]]:
    """The customer's page and the officer's page, each in a browser context of its own."""
    from playwright.sync_api import sync_playwright

    portal.shots = tmp_path / "screenshots"
    portal.taken = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        size = {"width": 1280, "height": 900}
        customer = browser.new_context(accept_downloads=True, viewport=size)
        officer = browser.new_context(viewport=size)
        try:
            a, b = customer.new_page(), officer.new_page()
            for page in (a, b):
                page.on("request", lambda r: requests.append(r.url))
            yield a, b, requests
        finally:
            customer.close()
            officer.close()
            browser.close()


def _shot(portal: Portal, page: object, name: str) -> None:
    portal.shots.mkdir(parents=True, exist_ok=True)
    path = portal.shots / f"{len(portal.taken) + 1:02d}-{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    portal.taken.append(path)


def _log_in(portal: Portal, p: object, where: str, login: str) -> None:
    p.goto(f"{portal.base}/{where}/")  # type: ignore[attr-defined]
    assert p.url.endswith(f"/{where}/login")  # type: ignore[attr-defined]
    p.get_by_label("Gebruikersnaam of e-mailadres").fill(login)  # type: ignore[attr-defined]
    p.get_by_label("Wachtwoord").fill(portal.secrets[login])  # type: ignore[attr-defined]
    p.get_by_role("button", name="Inloggen").click()  # type: ignore[attr-defined]
    p.wait_for_url(f"{portal.base}/{where}/")  # type: ignore[attr-defined]


def _submit(portal: Portal, p: object, label: str, fields: dict[str, str]) -> str:
    p.goto(f"{portal.base}/portal/requests")  # type: ignore[attr-defined]
    p.get_by_label(label).check()  # type: ignore[attr-defined]
    for name, value in fields.items():
        box = p.locator(f'form.request-form [name="{name}"]')  # type: ignore[attr-defined]
        if box.evaluate("e => e.tagName") == "SELECT":
            box.select_option(value)
        else:
            box.fill(value)
    p.get_by_role("button", name="Verzoek indienen").click()  # type: ignore[attr-defined]
    p.wait_for_url("**/portal/requests/*?sent=1")  # type: ignore[attr-defined]
    return str(p.url).rsplit("/", 1)[1].split("?")[0]  # type: ignore[attr-defined]


def _carry_out(portal: Portal, p: object, rid: str, kind: str) -> str:
    base = portal.base
    p.goto(f"{base}/console/requests")  # type: ignore[attr-defined]
    p.locator(f'a[href="/console/requests/{rid}"]').click()  # type: ignore[attr-defined]
    p.wait_for_url(f"{base}/console/requests/{rid}")  # type: ignore[attr-defined]
    assert "identiteit geverifieerd" in p.locator("#state").inner_text()  # type: ignore[attr-defined]
    assert p.locator("#standing").inner_text() == "op tijd"  # type: ignore[attr-defined]
    history = p.locator("table.history").inner_text()  # type: ignore[attr-defined]
    assert "session" in history  # verified by the person's logged-in session
    _shot(portal, p, f"console-{kind}")
    if kind == "restriction":  # extended first, the reason told to the person (Art. 12(3))
        due = str(p.locator("#due").inner_text())  # type: ignore[attr-defined]
        p.get_by_label("Maanden").select_option("1")  # type: ignore[attr-defined]
        p.get_by_label("Reden van verlenging").fill("the accuracy check needs the dealer's file")  # type: ignore[attr-defined]
        p.get_by_role("button", name="Verlengen").click()  # type: ignore[attr-defined]
        p.wait_for_url(f"{base}/console/requests/{rid}?done=extended")  # type: ignore[attr-defined]
        extended = str(p.locator("#due").inner_text())  # type: ignore[attr-defined]
        assert "+1" in extended and extended[:10] > due[:10] and due[:10] in extended
        assert "dealer's file" in p.locator("table.history").inner_text()  # type: ignore[attr-defined]
        _shot(portal, p, f"console-{kind}-extended")
    p.get_by_role("button", name="Uitvoeren en afronden").click()  # type: ignore[attr-defined]
    p.wait_for_url(f"{base}/console/requests/{rid}?done=completed")  # type: ignore[attr-defined]
    state = str(p.locator("#state").inner_text())  # type: ignore[attr-defined]
    assert "demo-dpo" in p.locator("table.history tbody tr").last.inner_text()  # type: ignore[attr-defined]
    _shot(portal, p, f"console-{kind}-done")
    return state


def test_the_customer_submits_six_requests_and_the_officer_completes_them(
    portal: Portal, pages: tuple[object, object, list[str]]
) -> None:
    customer, officer, requests = pages
    base = portal.base
    _log_in(portal, customer, "portal", "demo-owner")
    ids: dict[str, str] = {}
    for kind, label, fields in KINDS:
        ids[kind] = _submit(portal, customer, label, fields)
        assert customer.get_by_role("status").count() == 1  # type: ignore[attr-defined]
        _shot(portal, customer, f"portal-{kind}-sent")

    _log_in(portal, officer, "console", "demo-dpo")
    officer.goto(f"{base}/console/requests")  # type: ignore[attr-defined]
    for rid in ids.values():
        assert officer.locator(f'a[href="/console/requests/{rid}"]').count() == 1  # type: ignore[attr-defined]
    _shot(portal, officer, "console-requests")
    states = {}
    for kind, _, _ in KINDS[:-1]:
        states[kind] = _carry_out(portal, officer, ids[kind], kind)
        assert states[kind] == "afgehandeld", kind

    customer.goto(f"{base}/portal/requests")  # type: ignore[attr-defined]
    rows = customer.locator("table.requests tbody tr")  # type: ignore[attr-defined]
    listed = {
        rows.nth(i).get_by_role("link").get_attribute("href").rsplit("/", 1)[1]: rows.nth(i)
        for i in range(rows.count())
    }
    for kind, _, _ in KINDS[:-1]:
        assert "afgehandeld" in listed[ids[kind]].inner_text(), kind
    _shot(portal, customer, "portal-answered")
    customer.get_by_role("link", name="inzage (art. 15 AVG)").click()  # type: ignore[attr-defined]
    customer.wait_for_url(f"{base}/portal/requests/{ids['access']}")  # type: ignore[attr-defined]
    with customer.expect_download() as info:  # type: ignore[attr-defined]
        customer.get_by_role("link", name="JSON").click()  # type: ignore[attr-defined]
    copy = json.loads(Path(info.value.path()).read_text(encoding="utf-8"))
    assert copy["export"]["copy"]["fee_flagged"] is False  # the first copy is free
    _shot(portal, customer, "portal-access-downloaded")

    states["erasure"] = _carry_out(portal, officer, ids["erasure"], "erasure")
    # kept records (statutory retention) make it a partial refusal; the key is destroyed, so
    # what the request asked and the reasons are unreadable from here on
    assert states["erasure"] == "deels geweigerd"
    assert "sleutel" in officer.locator("#sealed").inner_text()  # type: ignore[attr-defined]
    customer.goto(f"{base}/portal/requests")  # type: ignore[attr-defined]
    # the group login is the manufacturer's: the portal still shows the person every answer
    rows = customer.locator("table.requests tbody tr")  # type: ignore[attr-defined]
    answered = [rows.nth(i).inner_text() for i in range(rows.count())]
    assert len(answered) == 6 and all(any(a in x for a in ANSWERED) for x in answered)
    assert "gedeeltelijk afgewezen" in next(x for x in answered if "wissing" in x)
    _shot(portal, customer, "portal-after-erasure")

    officer.get_by_role("link", name="English").click()  # type: ignore[attr-defined]
    officer.get_by_role("heading", name="Erasure").wait_for()  # type: ignore[attr-defined]
    assert "partially refused" in officer.locator("#state").inner_text()  # type: ignore[attr-defined]
    officer.get_by_role("link", name="Nederlands").click()  # type: ignore[attr-defined]
    officer.get_by_role("heading", name="Wissing").wait_for()  # type: ignore[attr-defined]

    today = datetime.now(UTC).date().isoformat()
    officer.goto(f"{base}/console/requests")  # type: ignore[attr-defined]
    for rid in ids.values():
        link = officer.locator(f'a[href="/console/requests/{rid}"]')  # type: ignore[attr-defined]
        row = officer.locator("table.requests tbody tr", has=link)  # type: ignore[attr-defined]
        assert row.get_attribute("class") == "closed"
        closed = row.locator("td.standing").inner_text()
        assert "afgerond" in closed and today in closed  # closed today
        due = row.locator("td").nth(5).inner_text()
        assert due > today  # long before the deadline
    _shot(portal, officer, "console-requests-closed")

    elsewhere = [u for u in requests if not u.startswith(base + "/")]
    assert not elsewhere, elsewhere
    assert len(portal.taken) == 24 and all(s.stat().st_size > 5000 for s in portal.taken)
