"""``POST /v1/customers/{id}/erasure`` on SQLite and PostgreSQL (SPEC R3, Art. 17): the privacy
officer erases and gets the report (erased, kept with reason and article, key destroyed, notice
sent); a second call returns the same erasure; anyone else is refused (403); a bad body names its
field and rule (422); an unknown customer is 404; the erased customer's data then answers as
erased (contact null)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine

from carprivacy.bootstrap import bootstrap
from carprivacy.config import Settings
from carprivacy.entrypoints.api.app import create_app
from carprivacy.services.demo.master_data import load_demo
from carprivacy.testing import InMemoryEmailOutbox

TOKEN = "erasure-admin-token-kkkkkkkkkkkkkkk"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


def _token(client: TestClient, cid: str, role: str) -> dict[str, str]:
    body = {
        "id": cid,
        "name": cid,
        "kind": "person",
        "role": role,
        "organisation": "mini_nl",
        "password": f"{cid} passphrase long",
    }
    assert client.post("/v1/callers", json=body, headers=ADMIN).status_code == 201
    login = {"login": cid, "password": body["password"]}
    token = client.post("/v1/auth/login", json=login).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def test_the_officer_erases_over_http(engine: Engine, tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, admin_token=SecretStr(TOKEN), argon2_time_cost=1, argon2_memory_kib=8
    )
    outbox = InMemoryEmailOutbox()
    container = bootstrap(settings, engine=engine, outbox=outbox)
    summary = load_demo(container.master)
    subject = next(
        c
        for c in summary.customer_ids
        if container.master.payments_of(c) and container.master.vehicles_of(c, datetime.now(UTC))
    )
    with TestClient(create_app(container)) as client:
        officer = _token(client, "api-dpo", "privacy_officer")
        desk = _token(client, "api-desk", "customer_service")
        url = f"/v1/customers/{subject}/erasure"
        body = {"reason": "request R-7", "controller": "all", "language": "en"}

        assert client.post(url, json=body, headers=desk).status_code == 403
        bad = client.post(url, json={"reason": "", "controller": "all"}, headers=officer)
        assert bad.status_code == 422 and "reason" in bad.text
        bad = client.post(url, json={"reason": "R", "controller": "mini_xx"}, headers=officer)
        assert bad.status_code == 422 and "erasure.controller" in bad.text
        unknown = client.post("/v1/customers/no-such-id/erasure", json=body, headers=officer)
        assert unknown.status_code == 404
        assert outbox.sent == []

        r = client.post(url, json=body, headers=officer)
        assert r.status_code == 200, r.text
        report = r.json()
        assert report["state"] == "completed" and report["key_destroyed"]
        assert report["notice_sent"] and not report["resumed"]
        kept = {(k["table"], k["exemption"], k["article"]) for k in report["kept"]}
        assert ("payment_transactions", "statutory_retention", "Art. 17(3)(b) GDPR") in kept
        assert {e["table"] for e in report["erased"]} >= {"contracts", "accounts"}
        assert subject not in r.text
        [mail] = outbox.sent
        assert "Kept, and why" in mail.body and "Autoriteit Persoonsgegevens" in mail.body

        again = client.post(url, json=body, headers=officer).json()
        assert again["erasure_id"] == report["erasure_id"] and again["resumed"]
        assert len(outbox.sent) == 1

        read = client.get(
            f"/v1/customers/{subject}", headers={**officer, "X-Purpose": "legal_claims"}
        )
        assert read.status_code == 200, read.text
        assert read.json()["email"] is None
