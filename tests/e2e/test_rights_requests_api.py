"""Rights requests over HTTP on SQLite and PostgreSQL, notices over real SMTP (aiosmtpd), direct
transmission to a real local HTTPS endpoint (SPEC R1-R8; Art. 12, 15-21 GDPR).

The person submits each of the six kinds under ``/v1/me/requests`` (verified by their session);
staff of the other joint controller record one on their behalf and verify it with the e-mail
code the person received; the privacy officer carries each out, extends one and refuses one;
the person is told every time, a refusal with the complaint route; the copy streams; restriction
and objection end in the consent ledger; a portability export reaches the other controller's
HTTPS endpoint with a receipt whose digest matches what arrived, and an endpoint whose
certificate does not verify gets nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import zipfile
from collections.abc import Iterator
from email import message_from_bytes
from email import policy as email_policy
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine
from tests.e2e.tls_receiver import Receiver, certificate

from carprivacy.bootstrap import Services, bootstrap
from carprivacy.config import Settings
from carprivacy.domain.master import ContactDetails
from carprivacy.entrypoints.api.app import create_app

TOKEN = "rights-admin-token-rrrrrrrrrrrrrrrrrrrrrr"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
PASSWORD = "rights passphrase"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Any]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content, policy=email_policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"

    def last(self) -> tuple[str, str]:
        to, message = self.messages[-1]
        return to[0], str(message.get_body(("plain",)).get_content())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> Iterator[dict[str, Any]]:
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    smtp.start()
    cert, key = certificate(tmp_path)
    settings = Settings(
        data_dir=tmp_path,
        admin_token=SecretStr(TOKEN),
        argon2_time_cost=1,
        argon2_memory_kib=8,
        email_transport="smtp",
        smtp_host="127.0.0.1",
        smtp_port=int(smtp.port),
        smtp_starttls=False,
        transmission_ca=cert,
    )
    services: Services = bootstrap(settings, engine=engine)
    person = services.master.register_customer(
        ContactDetails("Bakker", "Sem", "Kade", "3", "3011 AA", "Rotterdam", "NL", "sem@x.nl", None)
    )
    try:
        with TestClient(create_app(services)) as client:
            tokens = {
                "me": _login(client, "sem", "customer", "mini_nl", subject_id=person.id),
                "officer": _login(client, "po", "privacy_officer", "mini_nl"),
                "desk_ag": _login(client, "desk", "customer_service", "mini_ag"),
                "dealer": _login(client, "garage", "dealer", "dealers"),
            }
            yield {
                "client": client,
                "services": services,
                "inbox": inbox,
                "subject": person.id,
                "tokens": tokens,
                "cert": cert,
                "key": key,
                "tmp": tmp_path,
            }
    finally:
        services.close()
        smtp.stop()


def _login(client: TestClient, cid: str, role: str, org: str, **extra: str) -> str:
    body = {"id": cid, "name": cid, "kind": "person", "role": role, "organisation": org, **extra}
    r = client.post("/v1/callers", json={**body, "password": PASSWORD}, headers=ADMIN)
    assert r.status_code == 201, r.text
    t = client.post("/v1/auth/login", json={"login": cid, "password": PASSWORD})
    assert t.status_code == 200, t.text
    return str(t.json()["access_token"])


def _h(w: dict[str, Any], who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {w['tokens'][who]}"}


def _submit(w: dict[str, Any], kind: str, **details: Any) -> dict[str, Any]:
    r = w["client"].post(
        "/v1/me/requests", json={"kind": kind, "details": details}, headers=_h(w, "me")
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def _complete(w: dict[str, Any], rid: str, **body: Any) -> dict[str, Any]:
    r = w["client"].post(f"/v1/requests/{rid}/completion", json=body, headers=_h(w, "officer"))
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_the_person_submits_follows_and_downloads_their_copy(world: dict[str, Any]) -> None:
    w, client = world, world["client"]
    access = _submit(w, "access")
    assert access["state"] == "verified" and access["verification"] == "session"
    assert access["standing"] == "on_time" and access["article"] == "Art. 15 GDPR"
    to, body = w["inbox"].last()
    assert to == "sem@x.nl" and access["id"] in body and access["due_date"] in body
    mine = client.get("/v1/me/requests", headers=_h(w, "me")).json()
    assert [r["id"] for r in mine] == [access["id"]]
    done = _complete(w, access["id"])
    assert done["state"] == "completed"
    assert [h["after"] for h in done["history"]] == [
        "received",
        "verified",
        "in_progress",
        "completed",
    ]
    seen = client.get(f"/v1/me/requests/{access['id']}", headers=_h(w, "me")).json()
    assert seen["history"][-1]["by"] == "staff"  # the officer's id is not the person's to see
    with client.stream(
        "GET", f"/v1/me/requests/{access['id']}/download?format=json", headers=_h(w, "me")
    ) as r:
        assert r.status_code == 200
        assert "attachment" in r.headers["content-disposition"]
        doc = json.loads(b"".join(r.iter_bytes()))
    assert doc["sections"]["customer"][0]["surname"] == "Bakker"
    assert doc["export"]["copy"]["fee_flagged"] is False
    r = client.get(f"/v1/me/requests/{access['id']}/download?format=csv", headers=_h(w, "me"))
    archive = zipfile.ZipFile(BytesIO(r.content))
    head = json.loads(archive.read("export.json"))
    assert head["copy"]["fee_flagged"] is True  # a further copy in the year (Art. 15(3))
    r = client.get(f"/v1/me/requests/{access['id']}/download?format=xml", headers=_h(w, "me"))
    assert r.status_code == 422 and "format" in r.text


def test_staff_at_the_other_controller_record_and_verify_by_the_persons_code(
    world: dict[str, Any],
) -> None:
    w, client = world, world["client"]
    r = client.post(
        "/v1/requests",
        json={"kind": "access", "subject_id": w["subject"], "channel": "call_centre"},
        headers=_h(w, "desk_ag"),
    )
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    assert r.json()["controller"] == "mini_ag" and r.json()["state"] == "received"
    r = client.get(f"/v1/requests/{rid}/download", headers=_h(w, "officer"))
    assert r.status_code == 403 and "12(6)" in r.text  # nothing released before verification
    r = client.post(f"/v1/requests/{rid}/email-code", headers=_h(w, "desk_ag"))
    assert r.status_code == 200, r.text
    to, body = w["inbox"].last()
    code = re.search(r" is (\d{6})\.", body)
    assert to == "sem@x.nl" and code is not None
    r = client.post(
        f"/v1/requests/{rid}/verification",
        json={"method": "email_code", "code": code[1]},
        headers=_h(w, "desk_ag"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "verified" and r.json()["verification"] == "email_code"
    assert code[1] not in r.text
    for who in ("dealer", "me"):
        r = client.get("/v1/requests", headers=_h(w, who))
        assert r.status_code == 403, who
    # what the request holds about the person: customer service sees the summary; the privacy
    # officer the whole, a read decided and recorded by the gate under the right of access
    rect = client.post(
        "/v1/requests",
        json={
            "kind": "rectification",
            "subject_id": w["subject"],
            "details": {"changes": {"city": "Gouda"}},
        },
        headers=_h(w, "desk_ag"),
    ).json()
    assert rect["details"] == {} and "Gouda" not in str(rect)
    seen = client.get(f"/v1/requests/{rect['id']}", headers=_h(w, "desk_ag")).json()
    assert seen["details"] == {} and seen["history"][0]["by"] == "desk"
    s: Services = w["services"]
    before = s.audit.repository.head()
    seen = client.get(f"/v1/requests/{rect['id']}", headers=_h(w, "officer")).json()
    assert seen["details"] == {"changes": {"city": "Gouda"}}
    after = s.audit.repository.head()
    assert after is not None and after[0] > (before[0] if before else 0)
    listed = client.get("/v1/requests", headers=_h(w, "officer")).json()
    assert all(x["details"] == {} for x in listed)  # lists are summaries
    r = client.post(f"/v1/requests/{rid}/completion", json={}, headers=_h(w, "desk_ag"))
    assert r.status_code == 403  # customer service records; the privacy officer decides


def test_bad_requests_name_the_field_and_rule(world: dict[str, Any]) -> None:
    w, client = world, world["client"]
    r = client.post(
        "/v1/me/requests",
        json={"kind": "rectification", "details": {"changes": {"shoe_size": "44"}}},
        headers=_h(w, "me"),
    )
    assert r.status_code == 422 and "details.changes.shoe_size" in r.text
    r = client.post("/v1/me/requests", json={"kind": "wish"}, headers=_h(w, "me"))
    assert r.status_code == 422 and "kind" in r.text
    r = client.post(
        "/v1/me/requests",
        json={"kind": "portability", "details": {"endpoint": "http://plain.example"}},
        headers=_h(w, "me"),
    )
    assert r.status_code == 422 and "request.https" in r.text


def test_each_kind_ends_where_the_services_record_it_and_the_person_is_told(
    world: dict[str, Any],
) -> None:
    w, client, s = world, world["client"], world["services"]
    rect = _submit(w, "rectification", changes={"city": "Schiedam"})
    done = _complete(w, rect["id"])
    assert done["outcome"]["fields"] == ["city"] and "recipients" in done["outcome"]
    assert s.master.get_customer(w["subject"]).contact.city == "Schiedam"  # type: ignore[union-attr]
    assert "city" in w["inbox"].last()[1] and "Rotterdam" not in w["inbox"].last()[1]
    history = client.get("/v1/me/rectifications", headers=_h(w, "me")).json()
    assert [(c["field"], c["old_value"], c["new_value"]) for c in history] == [
        ("city", "Rotterdam", "Schiedam")
    ]
    r = client.get(f"/v1/subjects/{w['subject']}/rectifications", headers=_h(w, "desk_ag"))
    assert r.status_code == 403
    r = client.get(f"/v1/subjects/{w['subject']}/rectifications", headers=_h(w, "officer"))
    assert r.status_code == 200 and r.json()[0]["request_id"] == rect["id"]

    restr = _submit(w, "restriction", case="objection_pending")
    done = _complete(w, restr["id"])
    consents = client.get("/v1/me/consents", headers=_h(w, "me")).json()
    kinds = [e["kind"] for e in consents["entries"]]
    assert "restriction_started" in kinds
    obj = _submit(w, "objection", marketing=True, grounds="no newsletters")
    done = _complete(w, obj["id"])
    assert done["outcome"]["objection_id"]
    assert s.consent_ledger.state(w["subject"]).objections[0].marketing

    ext = _submit(w, "access")
    r = client.post(
        f"/v1/requests/{ext['id']}/extension",
        json={"months": 2, "reason": "records at both controllers"},
        headers=_h(w, "officer"),
    )
    assert r.status_code == 200 and r.json()["extended_months"] == 2
    assert "records at both controllers" in w["inbox"].last()[1]
    r = client.post(
        f"/v1/requests/{ext['id']}/extension",
        json={"months": 1, "reason": "more"},
        headers=_h(w, "officer"),
    )
    assert r.status_code == 422 and "deadline.extension_months" in r.text

    era = _submit(w, "erasure")
    r = client.post(
        f"/v1/requests/{era['id']}/refusal",
        json={"reason": "your contract is running; erasure ends it first"},
        headers=_h(w, "officer"),
    )
    assert r.status_code == 200 and r.json()["state"] == "refused"
    _, body = w["inbox"].last()
    assert "your contract is running" in body and "Autoriteit Persoonsgegevens" in body
    assert "Bezuidenhoutseweg 30" in body

    listed = client.get("/v1/requests?open=true", headers=_h(w, "officer")).json()
    assert [r["id"] for r in listed] == [ext["id"]]


def test_portability_is_sent_to_the_other_controllers_https_endpoint(
    world: dict[str, Any],
) -> None:
    w = world
    with Receiver(w["cert"], w["key"]) as receiver:
        port = _submit(w, "portability", endpoint=receiver.url, format="json")
        done = _complete(w, port["id"])
    assert done["state"] == "completed", done
    receipt = done["outcome"]["receipt"]
    assert receipt["status"] == "delivered" and receipt["http_status"] == 201
    [(path, media, body)] = receiver.received
    assert path == "/import" and media == "application/json"
    assert (
        hashlib.sha256(body).hexdigest()
        == receipt["digest"]
        == json.loads(json.dumps({"d": receipt["digest"]}))["d"]
    )
    assert receipt["bytes_sent"] == len(body)
    doc = json.loads(body)
    assert doc["sections"]["customer"][0]["surname"] == "Bakker"
    assert {x["category"] for x in doc["export"]["scope"]["left_out"]} >= {"financial_transactions"}
    assert "payments" not in doc["sections"]


def test_an_endpoint_whose_certificate_does_not_verify_gets_nothing(
    world: dict[str, Any],
) -> None:
    w = world
    other_cert, other_key = certificate(w["tmp"], "impostor")
    with Receiver(other_cert, other_key) as receiver:
        port = _submit(w, "portability", endpoint=receiver.url)
        done = _complete(w, port["id"])
    assert receiver.received == []
    assert done["outcome"]["receipt"]["status"] == "failed"
    assert done["state"] == "partially_refused"  # the download stays; the person is told
    assert "Autoriteit Persoonsgegevens" in w["inbox"].last()[1]


def test_the_report_and_a_direct_copy_of_ones_own_data(world: dict[str, Any]) -> None:
    w, client = world, world["client"]
    r = client.get("/v1/me/access-report", headers=_h(w, "me"))
    assert r.status_code == 200, r.text
    assert r.json()["complaint"]["authority"] == "Autoriteit Persoonsgegevens"
    with client.stream("GET", "/v1/me/copy?format=html&lang=en", headers=_h(w, "me")) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        page = b"".join(r.iter_bytes()).decode()
    assert "Bakker" in page
    assert client.get("/v1/me/copy", headers=_h(w, "officer")).status_code == 403


def test_an_erasure_request_is_carried_out_by_the_erasure_service(world: dict[str, Any]) -> None:
    """The officer completes the person's erasure request: the erasure service erases what the
    law lets go and keeps the 10-year financial record; the request ends partially refused with
    what was kept and why, told to the person (SPEC R3, R8; Art. 17(3)(b) GDPR)."""
    from datetime import UTC, datetime, timedelta

    from carprivacy.domain.master import PaymentMethod, PaymentMethodKind

    w, services = world, world["services"]
    services.master.record_payment(
        w["subject"], 1999, "EUR", datetime.now(UTC) - timedelta(days=30),
        PaymentMethod(PaymentMethodKind.SEPA_DEBIT, "NL**ERASE0001"),
    )  # fmt: skip
    era = _submit(w, "erasure")
    done = _complete(w, era["id"])
    assert done["state"] == "partially_refused", done
    to, body = w["inbox"].last()
    assert to == "sem@x.nl"
    assert "financial_transactions" in body and "Art. 17(3)(b)" in body, body
    assert "Autoriteit Persoonsgegevens" in body
    # kept as the payment's counterparty for its term: name and address; e-mail and phone gone
    kept = services.master.get_customer(w["subject"]).contact
    assert (kept.surname, kept.email, kept.phone) == ("Bakker", None, None)
    (payment,) = services.master.payments_of(w["subject"])
    assert payment.method.details == "NL**ERASE0001"  # readable under the kept record's key
    again = _submit(w, "access")  # the person can still follow their requests
    assert again["state"] == "verified"
