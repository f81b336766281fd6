"""Alerts that help (SPEC U3), over HTTP and the CLI on SQLite and PostgreSQL: one list read of
5 customers by a desk whose threshold is 3 raises one subjects-per-hour alert counting 5 (and no
denied burst); the privacy officer finds it by filter, acknowledges it with a note (403 for
anyone else, 404 for an unknown id, 422 without a note), and the CLI lists and acknowledges
with the same filters."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine
from typer.testing import CliRunner

from carprivacy.bootstrap import bootstrap
from carprivacy.config import Settings
from carprivacy.entrypoints.api.app import create_app
from carprivacy.entrypoints.cli.main import app as cli

TOKEN = "alerts-admin-token-kkkkkkkkkkkkkkkk"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
RULES = "thresholds: {customer_service: 3}\nworking_hours: {default: always}\n"
CUSTOMER = {
    "surname": "Jansen",
    "first_name": "Eva",
    "street": "Oudegracht",
    "house_number": "12",
    "postal_code": "3511 AB",
    "city": "Utrecht",
    "country": "NL",
}


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


def test_an_alert_is_found_by_filter_and_acknowledged_by_api_and_cli(
    engine: Engine, tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = tmp_path / "monitoring.yaml"
    rules.write_text(RULES, encoding="utf-8")
    env = {
        "CARPRIVACY_DATA_DIR": str(tmp_path),
        "CARPRIVACY_DATABASE_URL": db_url,
        "CARPRIVACY_MONITORING_RULES_FILE": str(rules),
        "CARPRIVACY_ARGON2_TIME_COST": "1",
        "CARPRIVACY_ARGON2_MEMORY_KIB": "8",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    settings = Settings(
        data_dir=tmp_path,
        admin_token=SecretStr(TOKEN),
        monitoring_rules_file=rules,
        argon2_time_cost=1,
        argon2_memory_kib=8,
    )
    container = bootstrap(settings, engine=engine)
    with TestClient(create_app(container)) as client:
        for _ in range(5):
            assert client.post("/v1/customers", json=CUSTOMER, headers=ADMIN).status_code == 201
        desk = _token(client, "desk", "customer_service")
        officer = _token(client, "po", "privacy_officer")
        listed = client.get(
            "/v1/customers", headers={**desk, "X-Purpose": "prospect_communication"}
        )
        assert listed.status_code == 200 and len(listed.json()["items"]) == 5
        (alert,) = client.get("/v1/alerts", params={"acknowledged": False}, headers=officer).json()
        assert (alert["rule"], alert["caller_id"], alert["count"]) == (
            "subjects_per_hour",
            "desk",
            5,
        )
        assert alert["acknowledged"] is False and alert["acknowledgements"] == []
        url = f"/v1/alerts/{alert['id']}/ack"
        assert client.post(url, json={"note": "mine"}, headers=desk).status_code == 403
        assert client.post(url, json={}, headers=officer).status_code == 422
        unknown = client.post("/v1/alerts/no-such-alert/ack", json={"note": "?"}, headers=officer)
        assert unknown.status_code == 404
        note = {"note": "the weekly prospect mailing; expected"}
        acked = client.post(url, json=note, headers=officer)
        assert acked.status_code == 200, acked.text
        (ack,) = acked.json()["acknowledgements"]
        assert (ack["by"], ack["note"]) == ("po", note["note"])
        assert (
            client.get("/v1/alerts", params={"acknowledged": False}, headers=officer).json() == []
        )
        by_rule = client.get("/v1/alerts", params={"rule": "denied_burst"}, headers=officer)
        assert by_rule.json() == []  # one list read is no burst of denials
        by_caller = client.get("/v1/alerts", params={"caller_id": "desk"}, headers=officer)
        assert [a["id"] for a in by_caller.json()] == [alert["id"]]
    container.close()

    runner = CliRunner()
    open_ones = runner.invoke(cli, ["audit", "alerts", "--unacknowledged"])
    assert open_ones.exit_code == 0 and open_ones.output.splitlines() == ["alerts shown: 0"]
    closed = runner.invoke(cli, ["audit", "alerts", "--acknowledged", "--caller", "desk"])
    assert closed.exit_code == 0 and "acknowledged by po" in closed.output
    assert closed.output.splitlines()[0].split("\t")[0] == alert["id"]
    again = runner.invoke(cli, ["audit", "ack", alert["id"], "--as", "po", "--note", "closed"])
    assert again.exit_code == 0 and f"alert {alert['id']}: acknowledged by po" in again.output
    refused = runner.invoke(cli, ["audit", "ack", alert["id"], "--as", "desk", "--note", "x"])
    assert refused.exit_code == 1 and "privacy_officer" in refused.output
    bad_rule = runner.invoke(cli, ["audit", "alerts", "--rule", "nonsense"])
    assert bad_rule.exit_code == 2
