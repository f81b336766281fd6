"""One request handled in the privacy officer's console over HTTP on the in-memory demo
(SPEC R1, R2, R6, R7; Art. 12 GDPR): the requests list links to each request's page, which shows
its kind, state, deadline and standing and every change with who, when and why; the officer
verifies (staff-recorded evidence, or an e-mail code sent and given back), extends, carries out
(in full or in part) and refuses through the rights services, named in the history as the
logged-in ``demo-dpo``; a form without the session's CSRF token changes nothing, and bad input is
a page naming the field and the rule."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from carprivacy.bootstrap import Services
from carprivacy.config import Settings, default_policy_path
from carprivacy.domain.access import Caller, CallerKind, Role
from carprivacy.domain.request_workflow import RequestState
from carprivacy.entrypoints.api.app import create_app
from carprivacy.services.demo.callers import load_callers
from carprivacy.services.demo.master_data import DemoSummary, load_demo
from carprivacy.testing.bootstrap import InMemoryStores, bootstrap_in_memory

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
CODE = re.compile(r"\b(\d{6})\b")
DESK = Caller("desk-7", CallerKind.PERSON, Role.CUSTOMER_SERVICE, "mini_nl")


@dataclass
class Demo:
    app: object
    services: Services
    stores: InMemoryStores
    summary: DemoSummary
    secrets: dict[str, str]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    policy = tmp_path_factory.mktemp("console-actions") / "policy.yaml"
    shutil.copy(default_policy_path(), policy)
    settings = Settings(
        data_dir=Path("/nonexistent/console-actions"),
        policy_path=policy,
        argon2_time_cost=1,
        argon2_memory_kib=8,
    )
    stores = InMemoryStores()
    services = bootstrap_in_memory(settings, stores=stores)
    summary = load_demo(services.master, 2024)
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


def _login(demo: Demo) -> TestClient:
    client = TestClient(demo.app, base_url="https://testserver")  # type: ignore[arg-type]
    token = _token(client.get("/console/login").text)
    r = client.post(
        "/console/login",
        data={"login": "demo-dpo", "password": demo.secrets["demo-dpo"], "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return client


def _letter(demo: Demo, kind: str = "access", **details: object) -> str:
    """A request recorded by the desk from a letter of the demo's first customer: received."""
    stored = demo.services.rights.requests.submit(
        DESK,
        kind,
        subject_id=demo.summary.customer_ids[0],
        channel="letter",
        details=details or None,
    )
    return stored.request.id


def _act(client: TestClient, rid: str, action: str, data: dict[str, str]) -> object:
    token = _token(client.get(f"/console/requests/{rid}").text)
    return client.post(
        f"/console/requests/{rid}/{action}",
        data={**data, "csrf_token": token},
        follow_redirects=False,
    )


def _state(demo: Demo, rid: str) -> RequestState:
    stored = demo.services.rights.requests.get(rid)
    return stored.request.state


def _ok(r: object, rid: str, done: str) -> None:
    assert r.status_code == 303, r.text  # type: ignore[attr-defined]
    assert r.headers["location"] == f"/console/requests/{rid}?done={done}"  # type: ignore[attr-defined]


def test_the_list_links_to_a_page_with_kind_state_deadline_and_history(demo: Demo) -> None:
    rid = _letter(demo)
    client = _login(demo)
    listing = client.get("/console/requests").text
    assert f'href="/console/requests/{rid}"' in listing

    def reads() -> int:  # the officer's reads of this request, decided and recorded by the gate
        entries = demo.stores.audit_log.entries
        return sum(e.caller_id == "demo-dpo" and e.action == f"request {rid}" for e in entries)

    before = reads()
    page = client.get(f"/console/requests/{rid}")
    assert page.status_code == 200
    assert reads() == before + 1
    assert demo.summary.customer_ids[0] not in {
        e.subject_ref for e in demo.stores.audit_log.entries
    }
    text = page.text
    assert "Inzage" in text and "Art. 15 GDPR" in text and "ontvangen" in text
    stored = demo.services.rights.requests.get(rid)
    assert stored.request.deadline.due_date.isoformat() in text
    assert "op tijd" in text  # the standing of an open request just received
    assert "desk-7" in text  # who recorded it
    assert 'action="/console/requests/' + rid + '/verify"' in text
    assert "/complete" not in text  # not before the identity is verified
    assert "<script" not in text
    english = client.get("/console/language?lang=en&back=/console/requests/" + rid)
    assert "Access" in english.text and "Verify with evidence" in english.text
    client.get("/console/language?lang=nl&back=/console/")
    assert client.get("/console/requests/nope").status_code == 404


def test_verified_by_evidence_then_carried_out_with_the_officer_named(demo: Demo) -> None:
    rid = _letter(demo)
    client = _login(demo)
    r = _act(client, rid, "verify", {"method": "staff_evidence", "evidence": "passport seen"})
    _ok(r, rid, "verified")
    page = client.get(f"/console/requests/{rid}?done=verified").text
    assert "De identiteit is bevestigd." in page and "passport seen" in page
    assert "demo-dpo" in page and "/complete" in page
    assert _state(demo, rid) is RequestState.VERIFIED
    r = _act(client, rid, "complete", {"note": "copy sent by the portal"})
    _ok(r, rid, "completed")
    stored = demo.services.rights.requests.get(rid)
    assert stored.request.state is RequestState.COMPLETED
    assert stored.request.history[-1].by == "demo-dpo"
    assert stored.request.history[-1].reason == "copy sent by the portal"
    page = client.get(f"/console/requests/{rid}").text
    assert "afgehandeld" in page and "/verify" not in page and "/refuse" not in page
    assert "download" in page  # the outcome names the copy's download


def test_an_email_code_sent_and_given_back_verifies(demo: Demo) -> None:
    rid = _letter(demo)
    client = _login(demo)
    before = len(demo.stores.outbox.sent)
    _ok(_act(client, rid, "verify", {"method": "send_code"}), rid, "code_sent")
    sent = demo.stores.outbox.sent[before:]
    assert len(sent) == 1
    code = CODE.search(sent[0].body)
    assert code is not None
    wrong = "000000" if code.group(1) != "000000" else "111111"
    r = _act(client, rid, "verify", {"method": "email_code", "code": wrong})
    assert r.status_code == 422 and "code" in r.text  # type: ignore[attr-defined]
    assert _state(demo, rid) is RequestState.RECEIVED
    r = _act(client, rid, "verify", {"method": "email_code", "code": code.group(1)})
    _ok(r, rid, "verified")
    assert demo.services.rights.requests.get(rid).request.verification.value == "email_code"  # type: ignore[union-attr]


def test_extended_with_months_and_reason_and_a_third_month_refused(demo: Demo) -> None:
    rid = _letter(demo)
    client = _login(demo)
    due = demo.services.rights.requests.get(rid).request.deadline.due_date
    r = _act(client, rid, "extend", {"months": "3", "reason": "many records"})
    assert r.status_code == 422  # type: ignore[attr-defined]
    assert "months" in r.text and "deadline.extension_months" in r.text  # type: ignore[attr-defined]
    r = _act(client, rid, "extend", {"months": "two", "reason": "many records"})
    assert r.status_code == 422 and "months" in r.text  # type: ignore[attr-defined]
    r = _act(client, rid, "extend", {"months": "1", "reason": ""})
    assert r.status_code == 422 and "deadline.extension_reason" in r.text  # type: ignore[attr-defined]
    assert demo.services.rights.requests.get(rid).request.deadline.due_date == due
    r = _act(client, rid, "extend", {"months": "2", "reason": "ten years of records to search"})
    _ok(r, rid, "extended")
    stored = demo.services.rights.requests.get(rid)
    assert stored.request.deadline.extended_months == 2
    assert stored.request.deadline.extensions[0].decided_by == "demo-dpo"
    page = client.get(f"/console/requests/{rid}").text
    assert stored.request.deadline.due_date.isoformat() in page and "+2" in page
    assert "ten years of records to search" in page


def test_refused_only_with_a_reason_told_with_the_complaint_route(demo: Demo) -> None:
    rid = _letter(demo)
    client = _login(demo)
    r = _act(client, rid, "refuse", {"reason": "  "})
    assert r.status_code == 422  # type: ignore[attr-defined]
    assert "reason" in r.text and "request.refusal_reason" in r.text  # type: ignore[attr-defined]
    assert _state(demo, rid) is RequestState.RECEIVED
    before = len(demo.stores.outbox.sent)
    r = _act(client, rid, "refuse", {"reason": "manifestly unfounded: the fifth copy this week"})
    _ok(r, rid, "refused")
    assert _state(demo, rid) is RequestState.REFUSED
    told = demo.stores.outbox.sent[before:]
    assert told and "Autoriteit Persoonsgegevens" in told[-1].body
    page = client.get(f"/console/requests/{rid}").text
    assert "geweigerd" in page and "fifth copy" in page and 'id="refuse"' not in page


def test_carried_out_in_part_is_partially_refused(demo: Demo) -> None:
    rid = _letter(demo, "rectification", changes={"city": "Haarlem"})
    client = _login(demo)
    _ok(
        _act(client, rid, "verify", {"method": "staff_evidence", "evidence": "id card"}),
        rid,
        "verified",
    )
    page = client.get(f"/console/requests/{rid}").text
    assert "Haarlem" in page  # what the request asks, as the officer may see it
    r = _act(client, rid, "complete", {"partial_reason": "the postcode is not changed: unproven"})
    _ok(r, rid, "completed")
    assert _state(demo, rid) is RequestState.PARTIALLY_REFUSED
    assert "deels geweigerd" in client.get(f"/console/requests/{rid}").text


def test_carrying_out_before_verification_is_refused_with_the_rule(demo: Demo) -> None:
    rid = _letter(demo)
    client = _login(demo)
    r = _act(client, rid, "complete", {})
    assert r.status_code == 422  # type: ignore[attr-defined]
    assert "state" in r.text and "request.transition" in r.text  # type: ignore[attr-defined]
    assert "Art. 12(6)" in r.text  # type: ignore[attr-defined]
    assert _state(demo, rid) is RequestState.RECEIVED
    r = _act(client, rid, "verify", {"method": "staff_evidence", "evidence": ""})
    assert r.status_code == 422 and "request.evidence" in r.text  # type: ignore[attr-defined]


def test_every_action_without_the_csrf_token_changes_nothing(demo: Demo) -> None:
    rid = _letter(demo)
    client = _login(demo)
    forms = {
        "verify": {"method": "staff_evidence", "evidence": "passport seen"},
        "extend": {"months": "1", "reason": "many records"},
        "complete": {},
        "refuse": {"reason": "unfounded"},
    }
    for action, data in forms.items():
        for token in (None, "forged"):
            sent = data if token is None else {**data, "csrf_token": token}
            r = client.post(f"/console/requests/{rid}/{action}", data=sent)
            assert r.status_code == 403, action
            assert "csrf_token" in r.text
    stored = demo.services.rights.requests.get(rid)
    assert stored.request.state is RequestState.RECEIVED and len(stored.request.history) == 1
    assert not stored.request.deadline.extensions


def test_the_pages_and_actions_need_the_officers_login(demo: Demo) -> None:
    rid = _letter(demo)
    client = TestClient(demo.app, base_url="https://testserver")  # type: ignore[arg-type]
    r = client.get(f"/console/requests/{rid}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/console/login"
