"""Callers over HTTP (SPEC U1, U3): admin API, OAuth2 client credentials,
password and e-mail-code login, roles, the audit log and its verification, alerts; and the CLI.
The API tests run on the in-memory bootstrap; those about the store and the outbox file
(``sql_client``) on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, update
from typer.testing import CliRunner

from carprivacy.adapters.db.tables.access import audit_log
from carprivacy.adapters.email.outbox import FileEmailOutbox
from carprivacy.bootstrap import bootstrap
from carprivacy.config import Settings
from carprivacy.domain.access import (
    Caller,
    CallerKind,
    Decision,
    DecisionRequest,
    Outcome,
    Reason,
    Role,
)
from carprivacy.entrypoints.api.app import create_app
from carprivacy.entrypoints.cli.main import app as cli
from carprivacy.testing import bootstrap_in_memory

ADMIN = "admin-token-for-tests-kkkkkkkkkkkk"


def settings_for(tmp_path: Path, url: str | None = None) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=url,
        admin_token=SecretStr(ADMIN),
        argon2_time_cost=1,
        argon2_memory_kib=8,
    )


@pytest.fixture
def sql_client(engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    """The app on the SQL store (SQLite and PostgreSQL), for tests of what it keeps."""
    container = bootstrap(settings_for(tmp_path), engine=engine)
    with TestClient(create_app(container)) as c:
        yield c


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    """The app on the in-memory fakes: what these tests check is the API, not the store."""
    with TestClient(create_app(bootstrap_in_memory(settings_for(tmp_path)))) as c:
        yield c


def admin() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def create(client: TestClient, **body: Any) -> dict[str, Any]:
    r = client.post("/v1/callers", json=body, headers=admin())
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def officer_token(client: TestClient) -> str:
    create(
        client,
        id="officer",
        name="Privacy Officer",
        kind="person",
        role="privacy_officer",
        organisation="mini_nl",
        email="po@mini.example",
        password="a long passphrase 1",
    )
    r = client.post(
        "/v1/auth/login", json={"login": "po@mini.example", "password": "a long passphrase 1"}
    )
    assert r.status_code == 200, r.text
    return r.json()["access_token"]  # type: ignore[no-any-return]


def test_the_admin_api_needs_an_administrator(client: TestClient) -> None:
    assert client.get("/v1/callers").status_code == 401
    assert client.get("/v1/callers", headers=bearer("nonsense")).status_code == 401
    token = officer_token(client)
    r = client.get("/v1/callers", headers=bearer(token))
    assert r.status_code == 403 and "administrator" in r.json()["detail"]
    listed = client.get("/v1/callers", headers=admin()).json()
    assert [c["id"] for c in listed] == ["officer"]
    assert "password" not in str(listed) and "po@mini.example" not in str(listed)


def test_a_caller_must_belong_to_a_policy_organisation(client: TestClient) -> None:
    r = client.post(
        "/v1/callers",
        headers=admin(),
        json={
            "name": "X",
            "kind": "person",
            "role": "dealer",
            "organisation": "acme",
            "password": "short",
        },
    )
    assert r.status_code == 422
    fields = {(e["field"], e["rule"]) for e in r.json()["errors"]}
    assert fields == {("organisation", "policy_party"), ("password", "min_length")}
    assert client.get("/v1/callers", headers=admin()).json() == []


def test_oauth_client_credentials_form_and_basic(client: TestClient) -> None:
    m = create(
        client,
        name="Insurer",
        kind="machine",
        role="partner",
        organisation="cardata_third_parties",
        scopes=["cardata:read", "cardata:stream"],
        generate_secret=True,
    )
    secret = m["client_secret"]
    assert secret and client.get("/v1/callers", headers=admin()).json()[0]["client_secret"] is None
    form = {
        "grant_type": "client_credentials",
        "client_id": m["id"],
        "client_secret": secret,
        "scope": "cardata:read",
    }
    r = client.post("/v1/oauth/token", data=form)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "cardata:read"
    assert body["expires_in"] == 900 and r.headers["cache-control"] == "no-store"
    basic = base64.b64encode(f"{m['id']}:{secret}".encode()).decode()
    r = client.post(
        "/v1/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert r.status_code == 200 and r.json()["scope"] == "cardata:read cardata:stream"
    bad = client.post("/v1/oauth/token", data={**form, "client_secret": "x"})
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    scope = client.post("/v1/oauth/token", data={**form, "scope": "admin"})
    assert scope.status_code == 400 and scope.json()["error"] == "invalid_scope"
    grant = client.post("/v1/oauth/token", data={**form, "grant_type": "password"})
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"
    # JSON is not the token endpoint's format (RFC 6749: form-encoded)
    assert client.post("/v1/oauth/token", json=form).status_code == 422
    rotated = client.post(f"/v1/callers/{m['id']}/secret", headers=admin()).json()
    assert client.post("/v1/oauth/token", data=form).status_code == 401  # the old secret died
    form["client_secret"] = rotated["client_secret"]
    assert client.post("/v1/oauth/token", data=form).status_code == 200
    client.post(f"/v1/callers/{m['id']}/disable", headers=admin())
    assert client.post("/v1/oauth/token", data=form).status_code == 401


def test_email_code_login_through_the_outbox(sql_client: TestClient, tmp_path: Path) -> None:
    client = sql_client  # what it tests is the SQL store
    create(
        client,
        id="agent",
        name="Agent",
        kind="person",
        role="customer_service",
        organisation="mini_nl",
        email="agent@mini.example",
    )
    r = client.post("/v1/auth/email-code", json={"email": "agent@mini.example"})
    assert r.status_code == 202
    unknown = client.post("/v1/auth/email-code", json={"email": "nobody@mini.example"})
    assert unknown.status_code == 202 and unknown.json()["detail"] == r.json()["detail"]
    (mail,) = FileEmailOutbox(tmp_path / "outbox").messages()
    assert (tmp_path / "outbox").stat().st_mode & 0o077 == 0
    code = mail.get_content().split("code is ")[1][:6]
    verify = {"code_id": r.json()["code_id"], "code": code}
    ok = client.post("/v1/auth/email-code/verify", json=verify)
    assert ok.status_code == 200
    # the development outbox: no address in a file name, the used code's message removed
    assert FileEmailOutbox(tmp_path / "outbox").messages() == []
    assert client.post("/v1/auth/email-code/verify", json=verify).status_code == 401


def test_a_mail_outage_answers_as_for_any_address(engine: Engine, tmp_path: Path) -> None:
    """SMTP unreachable during an e-mail-code login: 202 as for an unknown address, never a 500
    that would tell a known address apart (SPEC U1)."""
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        closed = int(s.getsockname()[1])
    settings = settings_for(tmp_path).model_copy(
        update={"email_transport": "smtp", "smtp_host": "127.0.0.1", "smtp_port": closed}
    )
    with TestClient(create_app(bootstrap(settings, engine=engine))) as client:
        create(
            client,
            id="agent",
            name="Agent",
            kind="person",
            role="customer_service",
            organisation="mini_nl",
            email="agent@mini.example",
        )
        known = client.post("/v1/auth/email-code", json={"email": "agent@mini.example"})
        unknown = client.post("/v1/auth/email-code", json={"email": "nobody@mini.example"})
    assert known.status_code == unknown.status_code == 202
    assert known.json()["detail"] == unknown.json()["detail"]
    assert set(known.json()) == set(unknown.json())


def test_password_login_refuses_wrong_passwords_and_disabled_callers(client: TestClient) -> None:
    token = officer_token(client)
    wrong = client.post("/v1/auth/login", json={"login": "po@mini.example", "password": "nope"})
    assert wrong.status_code == 401
    assert client.get("/v1/audit", headers=bearer(token)).status_code == 200
    client.post("/v1/callers/officer/disable", headers=admin())
    assert client.get("/v1/audit", headers=bearer(token)).status_code == 401


def _record(client: TestClient, n: int, subject: str = "cust-1") -> None:
    container = client.app.state.services  # type: ignore[attr-defined]
    c = Caller("p_agent", CallerKind.PERSON, Role.CUSTOMER_SERVICE, "mini_nl")
    for i in range(n):
        req = DecisionRequest(
            c,
            "customer_service",
            ("contact",),
            container.audit.clock(),
            subject_id=f"{subject}-{i}",
        )
        dec = Decision(
            Outcome.DENY,
            "customer_service",
            ("contact",),
            (Reason("consent.required", "Art. 6(1)(a) GDPR", "F", "m"),),
        )
        container.audit.record(req, dec)


def test_audit_log_is_for_the_privacy_officer_and_verify_finds_tampering(
    sql_client: TestClient, engine: Engine
) -> None:
    client = sql_client  # what it tests is the SQL store
    token = officer_token(client)
    _record(client, 12)
    r = client.get("/v1/audit", headers=bearer(token), params={"subject_id": "cust-1-3"})
    assert r.status_code == 200
    (entry,) = r.json()
    assert entry["seq"] == 4 and entry["outcome"] == "deny" and "cust-1" not in r.text
    assert client.get("/v1/audit", headers=admin()).status_code == 403  # admin: not the log
    ok = client.get("/v1/audit/verify", headers=bearer(token)).json()
    assert ok["ok"] and ok["entries_checked"] == 12
    assert client.post("/v1/audit/checkpoints", headers=admin()).status_code == 201
    with engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 7).values(purpose="marketing"))
    bad = client.get("/v1/audit/verify", headers=bearer(token)).json()
    assert not bad["ok"] and bad["first_bad"]["seq"] == 7
    # a denied burst (12 denies at once) became an alert
    alerts = client.get("/v1/alerts", headers=bearer(token)).json()
    assert [a["rule"] for a in alerts] == ["denied_burst"]
    assert client.get("/v1/alerts").status_code == 401


def test_cli_adds_lists_and_verifies(
    engine: Engine, tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for k, v in {
        "CARPRIVACY_DATA_DIR": str(tmp_path),
        "CARPRIVACY_DATABASE_URL": db_url,
        "CARPRIVACY_ARGON2_TIME_COST": "1",
        "CARPRIVACY_ARGON2_MEMORY_KIB": "8",
    }.items():
        monkeypatch.setenv(k, v)
    runner = CliRunner()
    r = runner.invoke(
        cli,
        [
            "callers",
            "add",
            "--name",
            "Dealer Desk",
            "--kind",
            "person",
            "--role",
            "dealer",
            "--organisation",
            "dealers",
            "--id",
            "desk",
            "--password-stdin",
        ],
        input="a dealer passphrase\n",
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        cli,
        [
            "callers",
            "add",
            "--name",
            "Bad",
            "--kind",
            "robot",
            "--role",
            "dealer",
            "--organisation",
            "nowhere",
        ],
    )
    assert r.exit_code == 1 and "kind" in r.output and "organisation" in r.output
    r = runner.invoke(
        cli,
        [
            "callers",
            "add",
            "--name",
            "Fleet API",
            "--kind",
            "machine",
            "--role",
            "partner",
            "--organisation",
            "fleet_operators",
            "--scopes",
            "fleet:read",
            "--generate-secret",
        ],
    )
    assert r.exit_code == 0 and "client_secret:" in r.output
    machine_id = r.output.split("client_id:")[1].split()[0]
    rotated = runner.invoke(cli, ["callers", "rotate-secret", machine_id])
    assert rotated.exit_code == 0 and "client_secret:" in rotated.output
    assert runner.invoke(cli, ["callers", "rotate-secret", "desk"]).exit_code == 1  # a person
    listed = runner.invoke(cli, ["callers", "list"]).output
    assert "desk" in listed and "fleet:read" in listed and "passphrase" not in listed
    container = bootstrap(settings_for(tmp_path, db_url), engine=engine)
    c = Caller("desk", CallerKind.PERSON, Role.DEALER, "dealers")
    for i in range(3):
        container.audit.record(
            DecisionRequest(
                c,
                "after_sales_service",
                ("vehicle_status",),
                container.audit.clock(),
                vehicle_id=f"v{i}",
            ),
            Decision(Outcome.ALLOW, "after_sales_service", ("vehicle_status",), ()),
        )
    assert runner.invoke(cli, ["audit", "checkpoint"]).exit_code == 0
    scanned = runner.invoke(cli, ["audit", "alerts", "--scan"])
    assert scanned.exit_code == 0 and "monitoring: scan: entries 3, alerts raised" in scanned.output
    shown = [line for line in scanned.output.splitlines() if "\t" in line]
    assert scanned.output.splitlines()[-1] == f"alerts shown: {len(shown)}"
    ok = runner.invoke(cli, ["audit", "verify"])
    assert ok.exit_code == 0 and "3 entries, 1 signed checkpoints" in ok.output
    with engine.begin() as conn:
        conn.execute(audit_log.delete().where(audit_log.c.seq == 2))
    bad = runner.invoke(cli, ["audit", "verify"])
    assert bad.exit_code == 1 and "entry #2" in bad.output and "removed" in bad.output
