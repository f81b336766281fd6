"""The privacy officer's console over HTTP on the in-memory demo (SPEC R7, L1, L2, C4, U3, P7):
only the privacy officer enters (every other role refused with the rule), every page needs the
login, every form post needs the session's CSRF token, the cookie is HTTP-only, SameSite and
Secure (``__Host-``) and a portal cookie opens nothing here; each page shows what its service
says: legal holds placed and released (audited), consent counts equal to the ledger's, retention
runs and a dry run that changes nothing, the audit log's integrity (and a tampered entry found),
alerts acknowledged with a note, the Art. 30 register, policy problems, and the requests with
their deadlines from the read port."""

from __future__ import annotations

import html
import importlib
import pkgutil
import re
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from carprivacy.bootstrap import Services, utc_now
from carprivacy.config import Settings, default_policy_path
from carprivacy.domain.consent_ledger import EntryKind
from carprivacy.domain.monitoring import Alert, AlertRule
from carprivacy.domain.request_workflow import (
    DataSubjectRequest,
    RequestChannel,
    RequestKind,
    Verification,
    receive,
)
from carprivacy.entrypoints.api.app import create_app
from carprivacy.entrypoints.web.console import pages
from carprivacy.services.demo.callers import load_callers
from carprivacy.services.demo.choices import load_choices
from carprivacy.services.demo.master_data import DemoSummary, load_demo
from carprivacy.services.demo.telemetry import load_week
from carprivacy.services.oversight.ports import NoRequests
from carprivacy.testing import InMemoryRequestsOverview
from carprivacy.testing.bootstrap import InMemoryStores, bootstrap_in_memory

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
PAGES = (
    "/console/",
    "/console/requests",
    "/console/holds",
    "/console/consents",
    "/console/retention",
    "/console/audit",
    "/console/register",
    "/console/policy",
)


@dataclass
class Demo:
    app: object
    services: Services
    stores: InMemoryStores
    summary: DemoSummary
    secrets: dict[str, str]

    def client(self) -> TestClient:
        return TestClient(self.app, base_url="https://testserver")  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    policy = tmp_path_factory.mktemp("console-policy") / "policy.yaml"
    shutil.copy(default_policy_path(), policy)
    settings = Settings(
        data_dir=Path("/nonexistent/console-pages"),
        policy_path=policy,
        argon2_time_cost=1,
        argon2_memory_kib=8,
    )
    stores = InMemoryStores()
    services = bootstrap_in_memory(settings, stores=stores)
    summary = load_demo(services.master, 2024)
    load_choices(
        services.consent_ledger,
        summary.customer_ids,
        lambda cid: next((v.id for v in services.master.vehicles_of(cid, utc_now())), None),
    )
    load_week(
        services.ingest,
        services.catalogue,
        summary.telemetry_vins[:1],
        utc_now() - timedelta(days=45),  # section B data expired: a dry run has work
    )
    logins = load_callers(services.callers, summary.customer_ids, summary.fleet_id)
    yield Demo(
        create_app(services),
        services,
        stores,
        summary,
        {x.caller.id: x.secret or "" for x in logins},
    )


def _token(text: str) -> str:
    found = TOKEN.search(text)
    assert found is not None
    return found.group(1)


def _login(demo: Demo, login: str = "demo-dpo") -> TestClient:
    client = demo.client()
    token = _token(client.get("/console/login").text)
    r = client.post(
        "/console/login",
        data={"login": login, "password": demo.secrets[login], "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/console/", r.text
    return client


def _post(client: TestClient, page: str, path: str, data: dict[str, str]) -> object:
    token = _token(client.get(page).text)
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def test_every_page_needs_a_login(demo: Demo) -> None:
    client = demo.client()
    for path in PAGES:
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/console/login", path


def test_only_the_privacy_officer_enters_every_other_role_is_refused_with_the_rule(
    demo: Demo,
) -> None:
    for login, role in (
        ("demo-owner", "customer"),
        ("demo-desk", "customer_service"),
        ("demo-admin", "administrator"),
        ("demo-authority", "authority_liaison"),
    ):
        client = demo.client()
        token = _token(client.get("/console/login").text)
        r = client.post(
            "/console/login",
            data={"login": login, "password": demo.secrets[login], "csrf_token": token},
            follow_redirects=False,
        )
        assert r.status_code == 403, login
        assert f"rol {role}" in r.text and "console.privacy_officer" in r.text, login
        assert client.get("/console/", follow_redirects=False).status_code == 303  # not in
    client = demo.client()
    token = _token(client.get("/console/login").text)
    form = {"login": "demo-dpo", "password": "not the password", "csrf_token": token}
    r = client.post("/console/login", data=form)
    assert r.status_code == 401 and "not valid" in r.text and "not the password" not in r.text


def test_the_login_is_rate_limited_by_the_callers_throttle(demo: Demo) -> None:
    client = demo.client()
    token = _token(client.get("/console/login").text)
    form = {"login": "demo-rnd", "password": "wrong", "csrf_token": token}
    answers = [client.post("/console/login", data=form).status_code for _ in range(11)]
    assert answers == [401] * 11
    right = {**form, "password": demo.secrets["demo-rnd"]}
    r = client.post("/console/login", data=right)
    assert r.status_code == 401 and "too many failed logins" in r.text  # paused, even if right


def test_the_cookie_is_http_only_same_site_secure_and_a_portal_cookie_opens_nothing(
    demo: Demo,
) -> None:
    client = demo.client()
    cookie = client.get("/console/login").headers["set-cookie"]
    assert cookie.startswith("__Host-carprivacy_console=")
    attributes = {a.strip().lower() for a in cookie.split(";")[1:]}
    assert {"httponly", "secure", "samesite=lax", "path=/"} <= attributes
    answer = _login(demo).get("/console/")
    assert "script-src" not in answer.headers["content-security-policy"]
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-frame-options"] == "DENY"
    # the officer's portal-kind session sealed under the portal's key is no console session
    officer = demo.services.portal_sessions.login("demo-dpo", demo.secrets["demo-dpo"])
    forged = demo.client()
    forged.cookies.set("__Host-carprivacy_console", demo.services.portal_sessions.seal(officer))
    assert forged.get("/console/", follow_redirects=False).status_code == 303


def test_every_form_post_needs_the_sessions_csrf_token(demo: Demo) -> None:
    client = _login(demo)
    posts = sorted(
        route.path
        for mod in pkgutil.iter_modules(pages.__path__)
        for route in importlib.import_module(f"{pages.__name__}.{mod.name}").router.routes
        if "POST" in getattr(route, "methods", ())
    )
    assert {
        "/login",
        "/logout",
        "/holds",
        "/holds/release",
        "/retention/dry-run",
        "/audit/alerts/ack",
    } <= set(posts)
    other = _token(demo.client().get("/console/login").text)
    holds = len(demo.services.legal_holds.list(False))
    for path in posts:
        for token in (None, other, "x" * 64):
            data = {"subject_id": "s", "reason": "r", "hold_id": "h", "alert_id": "a", "note": "n"}
            if token:
                data["csrf_token"] = token
            r = client.post(f"/console{path}", data=data, follow_redirects=False)
            assert r.status_code == 403 and "csrf_token" in r.text, (path, token)
    assert len(demo.services.legal_holds.list(False)) == holds  # nothing recorded
    assert client.get("/console/", follow_redirects=False).status_code == 200  # still in


def test_a_legal_hold_is_placed_listed_audited_and_released(demo: Demo) -> None:
    client = _login(demo)
    subject = demo.summary.customer_ids[3]
    r = _post(
        client,
        "/console/holds",
        "/console/holds",
        {"subject_id": subject, "category": "position_movement", "reason": "claim 2026-117"},
    )
    assert r.status_code == 303  # type: ignore[attr-defined]
    page = client.get(r.headers["location"])  # type: ignore[attr-defined]
    assert "De bewaarplicht is opgelegd." in page.text and "claim 2026-117" in page.text
    [hold] = [h for h in demo.services.legal_holds.list() if h.reason == "claim 2026-117"]
    assert hold.subject_id == subject and hold.category == "position_movement"
    assert hold.created_by == "demo-dpo"
    placed = [e for e in demo.stores.audit_log.entries if e.rule == "legal_hold.placed"]
    assert placed and placed[-1].subject_ref == demo.services.audit.subject_ref(subject)
    assert subject not in placed[-1].subject_ref  # pseudonymous
    # no subject nor vehicle: refused, naming the field and the rule
    bad = _post(client, "/console/holds", "/console/holds", {"reason": "x"})
    assert bad.status_code == 422  # type: ignore[attr-defined]
    assert "subject_id" in bad.text and "legal_hold.scope" in bad.text  # type: ignore[attr-defined]
    unknown = _post(
        client, "/console/holds", "/console/holds", {"vehicle_id": "v", "category": "nope"}
    )
    assert unknown.status_code == 422 and "legal_hold.category" in unknown.text  # type: ignore[attr-defined]
    # released with a reason: kept on the record, no longer active
    form = {"hold_id": hold.id, "reason": "claim settled"}
    done = _post(client, "/console/holds", "/console/holds/release", form)
    assert done.status_code == 303  # type: ignore[attr-defined]
    released = next(h for h in demo.services.legal_holds.list(False) if h.id == hold.id)
    assert not released.active and released.released_by == "demo-dpo"
    assert released.release_reason == "claim settled"
    assert "claim settled" in client.get("/console/holds").text
    again = _post(client, "/console/holds", "/console/holds/release", form)
    assert again.status_code == 409  # type: ignore[attr-defined]
    none = _post(
        client, "/console/holds", "/console/holds/release", {"hold_id": "nope", "reason": "x"}
    )
    assert none.status_code == 404  # type: ignore[attr-defined]


def test_consent_statistics_are_the_ledgers_counts_and_name_nobody(demo: Demo) -> None:
    client = _login(demo)
    text = client.get("/console/consents?days=30").text
    counted = Counter(
        (e.topic, e.kind) for e in demo.stores.subject_states.ledger_rows if e.topic is not None
    )
    assert counted  # the demo gave and withdrew consents
    for topic in demo.services.policy.consent_topics_by_id:
        row = re.search(rf'<tr id="topic-{topic}">(.*?)</tr>', text, re.DOTALL)
        assert row is not None, topic
        given = re.search(r'class="num given">(\d+)<', row.group(1))
        withdrawn = re.search(r'class="num withdrawn">(\d+)<', row.group(1))
        assert given and int(given.group(1)) == counted[(topic, EntryKind.CONSENT_GIVEN)]
        assert (
            withdrawn and int(withdrawn.group(1)) == counted[(topic, EntryKind.CONSENT_WITHDRAWN)]
        )
    assert text.count("<svg") >= 2 and "<script" not in text
    subjects = {e.subject_id for e in demo.stores.subject_states.ledger_rows}
    assert not any(s in text for s in subjects)  # counts only
    r = client.get("/console/consents?days=0")
    assert r.status_code == 422 and "days" in r.text


def test_a_dry_run_changes_nothing_and_a_run_shows_what_it_removed(demo: Demo) -> None:
    client = _login(demo)
    rows = dict(demo.stores.telemetry.rows)
    assert rows
    expected = demo.services.retention.run(dry_run=True)
    r = _post(client, "/console/retention", "/console/retention/dry-run", {})
    assert r.status_code == 200  # type: ignore[attr-defined]
    assert 'id="dry-run"' in r.text  # type: ignore[attr-defined]
    assert expected.total > 0
    assert f"<strong>{expected.total}</strong>" in r.text  # type: ignore[attr-defined]
    labels = {"delete": "verwijderd", "anonymise": "geanonimiseerd"}
    names = {c.id: c.name.nl for c in demo.services.policy.categories}
    shown = html.unescape(r.text)  # type: ignore[attr-defined]
    for (category, action), n in expected.by_category().items():
        row = f"<td>{names[category]} <code>{category}</code></td><td>{labels[action]}</td>"
        assert f'{row}<td class="num">{n}</td>' in shown
    assert demo.services.retention.runs() == []  # no run recorded
    again = client.get(
        "/console/retention/dry-run", follow_redirects=False
    )  # e.g. a language switch
    assert again.status_code == 303 and again.headers["location"] == "/console/retention"
    assert demo.stores.telemetry.rows == rows  # not a row changed
    assert "nog geen opschoning" in client.get("/console/").text
    with demo.services.retention.store.run_lock():  # another run holds the lock: 409, named
        busy = _post(client, "/console/retention", "/console/retention/dry-run", {})
    assert busy.status_code == 409 and "in progress" in busy.text  # type: ignore[attr-defined]
    report = demo.services.retention.run(now=utc_now() + timedelta(days=20 * 366))
    assert report.run_id is not None and report.total > 0
    page = html.unescape(client.get("/console/retention").text)
    assert f'id="run-{report.run_id}"' in page
    for key, n in report.counts.items():
        cells = f"<td>{key.table}</td><td>{names[key.category]} <code>{key.category}</code></td>"
        assert f"{cells}<td><code>{key.rule}</code></td>" in page
        assert f'<td class="num">{n}</td>' in page
    assert f"{report.total} rijen" in page


def _alert(demo: Demo) -> Alert:
    alert = Alert(
        id="al-1",
        rule=AlertRule.DENIED_BURST,
        caller_id="demo-rnd",
        organisation="mini_ag_staff",
        role="rnd_analyst",
        at=datetime(2026, 12, 1, 3, tzinfo=UTC),
        window_start=datetime(2026, 12, 1, 2, tzinfo=UTC),
        count=25,
        threshold=20,
        entry_seq=1,
        message="25 denied requests in an hour (threshold 20)",
    )
    demo.stores.alerts.add([alert])
    return alert


def test_the_audit_page_shows_integrity_entries_and_alerts_acknowledged_with_a_note(
    demo: Demo,
) -> None:
    client = _login(demo)
    alert = _alert(demo)
    page = client.get("/console/audit").text
    assert "Intact" in page and 'id="alert-al-1"' in page
    entries = demo.stores.audit_log.entries
    assert entries and f'<td class="num">{entries[-1].seq}</td>' in page
    assert not any(s in page for s in demo.summary.customer_ids)  # pseudonymous refs only
    empty = _post(client, "/console/audit", "/console/audit/alerts/ack", {"alert_id": alert.id})
    assert empty.status_code == 422 and "note" in empty.text  # type: ignore[attr-defined]
    form = {"alert_id": alert.id, "note": "batch job of the research team, agreed"}
    done = _post(client, "/console/audit", "/console/audit/alerts/ack", form)
    assert done.status_code == 303  # type: ignore[attr-defined]
    stored = demo.stores.alerts.get(alert.id)
    assert stored is not None
    [ack] = stored.acknowledgements
    assert ack.by == "demo-dpo" and ack.note == form["note"]
    assert form["note"] in client.get("/console/audit").text
    unknown = _post(
        client, "/console/audit", "/console/audit/alerts/ack", {**form, "alert_id": "x"}
    )
    assert unknown.status_code == 404  # type: ignore[attr-defined]
    # an entry changed after the fact: the page says so and names it
    i = len(entries) // 2
    original = entries[i]
    entries[i] = replace(original, outcome="allow" if original.outcome == "deny" else "deny")
    try:
        page = client.get("/console/audit").text
        assert "GEMANIPULEERD" in page and f"entry #{original.seq}" in page
    finally:
        entries[i] = original
    assert "Intact" in client.get("/console/audit").text


def test_the_register_and_the_policy_validation(demo: Demo) -> None:
    client = _login(demo)
    english = client.get("/console/language?lang=en&back=/console/register")
    page = english.text
    for purpose in demo.services.policy.purposes:
        assert f'id="purpose-{purpose.id}"' in page
        assert purpose.name.en in html.unescape(page)
    assert "Record of processing" in page
    good = client.get("/console/policy").text
    assert "Valid: the loader finds no problems." in good
    path = demo.services.settings.policy_path
    kept = path.read_text()
    try:
        path.write_text(kept.replace("version:", "versoin:", 1))
        bad = client.get("/console/policy").text
        assert "problems: this file would be refused at a restart" in bad
        assert "versoin" in bad or "version" in bad
    finally:
        path.write_text(kept)
    client.get("/console/language?lang=nl&back=/console/")


def _requests(now: datetime) -> list[DataSubjectRequest]:
    def made(i: int, kind: RequestKind, days_ago: int) -> DataSubjectRequest:
        return receive(
            id=f"req-{i:04d}-0000-0000",
            kind=kind,
            subject_id=f"subject-secret-{i}",
            controller="mini_nl",
            channel=RequestChannel.PORTAL,
            received_at=now - timedelta(days=days_ago),
            by="portal",
        )

    overdue = made(1, RequestKind.ERASURE, 40)
    nearly = made(2, RequestKind.ACCESS, 27)
    on_time = made(3, RequestKind.PORTABILITY, 2)
    extended = made(4, RequestKind.RECTIFICATION, 20).extend(
        2, "many records across both controllers", by="demo-dpo", told_at=now, at=now
    )
    done = (
        made(5, RequestKind.OBJECTION, 10)
        .verify(Verification.SESSION, by="portal", at=now - timedelta(days=9))
        .start(by="demo-dpo", at=now - timedelta(days=8))
        .complete(by="demo-dpo", at=now - timedelta(days=1))
    )
    return [on_time, done, extended, nearly, overdue]


def test_the_requests_page_shows_deadlines_from_the_read_port(demo: Demo) -> None:
    client = _login(demo)
    assert "Er zijn geen verzoeken." in client.get("/console/requests").text  # the default
    now = demo.services.retention.clock()
    fake = InMemoryRequestsOverview(_requests(now))
    demo.services.requests_overview = fake
    try:
        page = client.get("/console/requests").text
        home = client.get("/console/").text
    finally:
        demo.services.requests_overview = NoRequests()
    asked = [f"{c.id}:{c.role.value}" for c in fake.asked_by]
    assert asked == ["demo-dpo:privacy_officer"] * 2  # the store sees who asks
    order = re.findall(r"<code>(req-\d{4})-0000-0000</code>", page)
    assert order == ["req-0001", "req-0002", "req-0003", "req-0004", "req-0005"]
    rows = re.findall(
        r'<tr class="([a-z_]+)">\s*<td><a href="/console/requests/(req-\d{4})-0000-0000">', page
    )
    by_id = {ident: standing for standing, ident in rows}
    assert by_id == {
        "req-0001": "overdue",
        "req-0002": "nearly_due",
        "req-0003": "on_time",
        "req-0004": "on_time",
        "req-0005": "closed",
    }
    assert "(+2)" in page  # the extension, with its extended due date
    assert 'id="timeline"' in page and "<svg" in page and "<script" not in page
    assert "subject-secret" not in page  # the request id and kind, never the person
    assert re.search(r"te laat</a><strong>1</strong>", home)
    assert re.search(r"bijna verlopen</a><strong>1</strong>", home)


def test_errors_are_pages_and_the_language_switch_stays_in_the_console(demo: Demo) -> None:
    client = _login(demo)
    r = client.get("/console/nope")
    assert r.status_code == 404 and "<html" in r.text and "Traceback" not in r.text
    r = client.get(
        "/console/language?lang=en&back=https://elsewhere.example/", follow_redirects=False
    )
    assert r.headers["location"] == "/console/"
    out = _post(client, "/console/", "/console/logout", {})
    assert out.status_code == 303  # type: ignore[attr-defined]
    assert client.get("/console/", follow_redirects=False).status_code == 303


def test_every_page_renders_in_dutch_and_english_with_no_script(demo: Demo) -> None:
    client = _login(demo)
    demo.services.requests_overview = InMemoryRequestsOverview(
        _requests(demo.services.retention.clock())
    )
    try:
        for lang, marker in (("en", "Privacy officer's console"), ("nl", "Console privacy")):
            client.get(f"/console/language?lang={lang}&back=/console/")
            for path in PAGES:
                r = client.get(path)
                assert r.status_code == 200, (lang, path)
                assert f'<html lang="{lang}">' in r.text and marker in html.unescape(r.text)
                assert "<script" not in r.text, path
                # nothing loaded or linked from another origin (a policy text may name a site)
                assert not re.search(r'(?:src|href|action)="[a-z]+:', r.text), path
    finally:
        demo.services.requests_overview = NoRequests()


def test_a_request_a_person_submits_is_on_the_officers_requests_page(demo: Demo) -> None:
    """The console reads the rights-request store (bootstrap's default): a request submitted by
    a person is listed with its due date, by its id only (SPEC R7)."""
    from carprivacy.domain.access import Caller, CallerKind, Role
    from carprivacy.services.oversight.requests import RequestLine
    from carprivacy.services.rights.overview import StoredRequestsOverview

    services = demo.services
    services.requests_overview = StoredRequestsOverview(services.rights.requests)
    person = Caller(
        "demo-owner", CallerKind.PERSON, Role.CUSTOMER, "mini_nl",
        subject_id=demo.summary.customer_ids[0],
    )  # fmt: skip
    try:
        stored = services.rights.requests.submit(person, "access", channel="portal")
        page = _login(demo).get("/console/requests").text
    finally:
        services.requests_overview = NoRequests()
    line = RequestLine.of(stored.request, services.retention.clock())
    row = re.search(rf"<code>{re.escape(stored.request.id)}</code>.*?</tr>", page, re.S)
    assert row is not None, page
    assert line.due.isoformat() in row.group(0) or f"{line.due:%d-%m-%Y}" in row.group(0)
    assert demo.summary.customer_ids[0] not in page
