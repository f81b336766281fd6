"""POST /v1/decisions: the policy decision point over HTTP (SPEC U1), with the
shipped policy, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, func, select

from carprivacy.adapters.db.tables.access import audit_log
from carprivacy.bootstrap import Services, bootstrap
from carprivacy.config import Settings
from carprivacy.domain.master import ContactDetails, UsageKind
from carprivacy.entrypoints.api.app import create_app
from carprivacy.testing import FakeClock

ADMIN = "decisions-admin-token-kkkkkkkkkkkk"
AT = datetime(2025, 6, 1, 12, tzinfo=UTC)


@pytest.fixture
def api(engine: Engine, tmp_path: Path) -> Iterator[tuple[TestClient, Services, dict[str, str]]]:
    settings = Settings(
        data_dir=tmp_path, admin_token=SecretStr(ADMIN), argon2_time_cost=1, argon2_memory_kib=8
    )
    container = bootstrap(settings, engine=engine, clock=FakeClock(AT))  # now is AT
    with TestClient(create_app(container)) as client:
        tokens = {"admin": ADMIN}
        for label, role, org, scopes in (
            ("dealer", "partner", "dealers", []),
            ("crm", "service", "mini_nl", []),
            ("pdp", "service", "mini_ag", ["decisions:query"]),
        ):
            body = {
                "id": f"dec_{label}",
                "name": label,
                "kind": "machine",
                "role": role,
                "organisation": org,
                "scopes": scopes,
                "generate_secret": True,
            }
            r = client.post("/v1/callers", json=body, headers={"Authorization": f"Bearer {ADMIN}"})
            assert r.status_code == 201, r.text
            t = client.post(
                "/v1/oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": body["id"],
                    "client_secret": r.json()["client_secret"],
                },
            )
            assert t.status_code == 200, t.text
            tokens[label] = t.json()["access_token"]
        # "s1", "s2": ids of two customers known to master data (an unknown id is subject.unknown)
        for name in ("s1", "s2"):
            tokens[name] = container.master.register_customer(
                ContactDetails(name, "A", "Dorpsstraat", "1", "1234 AB", "Utrecht", "NL")
            ).id
        yield client, container, tokens
    container.close()


def post(client: TestClient, token: str, body: dict[str, Any]) -> Any:
    return client.post("/v1/decisions", json=body, headers={"Authorization": f"Bearer {token}"})


def audit_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(audit_log)).scalar_one())


def test_single_decision_with_reasons_and_audit(
    api: tuple[TestClient, Services, dict[str, str]], engine: Engine
) -> None:
    client, container, tokens = api
    before = audit_count(engine)
    r = post(
        client,
        tokens["dealer"],
        {
            "purpose": "after_sales_service",
            "categories": ["maintenance_service"],
            "subject_id": tokens["s1"],
            "at": AT.isoformat(),
        },
    )
    assert r.status_code == 200, r.text
    d = r.json()
    print(d["reasons"])
    assert d["outcome"] == "allow" and d["form"] == "vehicle_linked"
    assert "vin" in d["fields"]["maintenance_service"]
    assert d["reasons"][0] == {
        "rule": "purpose.allowed",
        "article": "Art. 5(1)(b) GDPR",
        "section": "D",
        "message": d["reasons"][0]["message"],
    }
    denied = post(
        client,
        tokens["dealer"],
        {"purpose": "marketing_email", "categories": ["contact"], "subject_id": tokens["s1"]},
    )
    assert denied.status_code == 200
    assert denied.json()["outcome"] == "deny" and denied.json()["rule"] == "caller.not_recipient"
    assert audit_count(engine) == before + 2


def test_batch_follows_consent_state(
    api: tuple[TestClient, Services, dict[str, str]], engine: Engine
) -> None:
    client, container, tokens = api
    before = audit_count(engine)
    container.subject_state.give(
        tokens["s1"], "marketing_email", at=AT - timedelta(days=1), by="s1", channel="portal"
    )
    one = {"purpose": "marketing_email", "categories": ["contact"], "at": AT.isoformat()}
    r = post(
        client,
        tokens["crm"],
        {"requests": [{**one, "subject_id": tokens["s1"]}, {**one, "subject_id": tokens["s2"]}]},
    )
    assert r.status_code == 200, r.text
    assert [d["rule"] for d in r.json()["decisions"]] == ["purpose.allowed", "consent.required"]
    assert audit_count(engine) == before + 2  # the batch is in the audit log, allow and deny


def test_on_behalf_needs_the_scope(api: tuple[TestClient, Services, dict[str, str]]) -> None:
    client, _, tokens = api
    body = {
        "purpose": "after_sales_service",
        "categories": ["vehicle_status"],
        "subject_id": tokens["s1"],
        "on_behalf_of": {"organisation": "dealers", "role": "dealer"},
    }
    assert post(client, tokens["pdp"], body).json()["outcome"] == "allow"
    refused = post(client, tokens["crm"], body)
    assert refused.status_code == 403 and "caller.scope" in refused.json()["reasons"]
    unknown = post(
        client,
        tokens["pdp"],
        {**body, "on_behalf_of": {"organisation": "nobody", "role": "dealer"}},
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "on_behalf_of.organisation"


def test_bad_input_and_no_credentials(api: tuple[TestClient, Services, dict[str, str]]) -> None:
    client, _, tokens = api
    assert (
        client.post("/v1/decisions", json={"purpose": "x", "categories": ["y"]}).status_code == 401
    )
    naive = post(
        client,
        tokens["dealer"],
        {
            "purpose": "after_sales_service",
            "categories": ["vehicle_status"],
            "at": "2025-06-01T12:00:00",
        },
    )
    assert naive.status_code == 422
    assert any("at" in e["field"] for e in naive.json()["errors"])
    empty = post(client, tokens["dealer"], {"purpose": "after_sales_service", "categories": []})
    assert empty.status_code == 422
    too_many = post(
        client, tokens["dealer"], {"requests": [{"purpose": "p", "categories": ["c"]}] * 1001}
    )
    assert too_many.status_code == 422


def _audit_rows(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(audit_log).order_by(audit_log.c.seq)))


def test_on_behalf_is_logged_with_the_asker_and_the_caller_decided_for(
    api: tuple[TestClient, Services, dict[str, str]], engine: Engine
) -> None:
    """An on-behalf question is logged with the asker and the caller decided for, never as
    a caller named 'on-behalf'."""
    client, _, tokens = api
    body = {
        "purpose": "after_sales_service",
        "categories": ["vehicle_status"],
        "subject_id": tokens["s1"],
        "on_behalf_of": {"organisation": "dealers", "role": "dealer", "caller_id": "dealer-9"},
    }
    assert post(client, tokens["admin"], body).status_code == 200
    last = _audit_rows(engine)[-1]
    assert last.caller_id == "admin"
    assert (last.organisation, last.role) == ("dealers", "dealer")
    assert "dealer-9" in last.action and "on behalf of" in last.action
    assert post(client, tokens["dealer"], {**body, "on_behalf_of": None}).status_code == 200
    assert _audit_rows(engine)[-1].caller_id == "dec_dealer"  # asking for itself: unchanged


def test_a_bad_body_gets_the_errors_of_the_shape_it_meant(
    api: tuple[TestClient, Services, dict[str, str]],
) -> None:
    """One 422 error set, for a batch when the body has "requests"."""
    client, _, tokens = api
    single = post(client, tokens["dealer"], {"purpose": "after_sales_service", "categories": 3})
    assert single.status_code == 422
    assert [e["field"] for e in single.json()["errors"]] == ["categories"]
    extra = post(client, tokens["dealer"], {"purpose": "p", "categories": ["c"], "nope": 1})
    # named by place, not by its name (a sender's field name can be personal data)
    errors = extra.json()["errors"]
    assert [(e["field"], e["rule"]) for e in errors] == [("*", "extra_forbidden")]
    batch = post(client, tokens["dealer"], {"requests": [{"purpose": "p"}], "purpose": "x"})
    assert batch.status_code == 422
    fields = sorted(e["field"] for e in batch.json()["errors"])
    assert fields == ["*", "requests.0.categories"]  # "*": the top-level purpose, unexpected
    assert post(client, tokens["dealer"], [1, 2]).status_code == 422
    schema = client.get("/openapi.json").json()["paths"]["/v1/decisions"]["post"]
    assert "anyOf" in str(schema["requestBody"])  # both shapes stay documented


def test_an_unknown_subject_is_subject_unknown(
    api: tuple[TestClient, Services, dict[str, str]],
) -> None:
    """An unknown subject_id is refused as unknown, not as a missing contract."""
    client, _, tokens = api
    body = {"purpose": "contract_conclusion", "categories": ["contact"], "at": AT.isoformat()}
    r = post(client, tokens["crm"], {**body, "subject_id": "no-such-subject"})
    assert r.status_code == 200, r.text
    assert r.json()["rule"] == "subject.unknown"
    known = post(client, tokens["crm"], {**body, "subject_id": tokens["s1"]})
    assert known.json()["rule"] == "contract.required"  # known, but without a contract


def test_a_fleet_manager_is_decided_by_its_fleet(
    api: tuple[TestClient, Services, dict[str, str]],
) -> None:
    """Fleet operators (SPEC B2) see only their fleet's vehicles."""
    client, container, tokens = api
    master = container.master
    fleet = master.create_fleet("Athlon", "NL")
    other = master.create_fleet("Leaseplan", "NL")
    since = AT - timedelta(days=30)
    mine = master.register_vehicle("WMW31DH0402T00001", "MINI Cooper", "Black", [], None)
    theirs = master.register_vehicle("WMW31DH0402T00002", "MINI Cooper", "Black", [], None)
    master.add_usage(mine.id, UsageKind.FLEET, since, fleet_id=fleet.id)
    master.add_usage(theirs.id, UsageKind.FLEET, since, fleet_id=other.id)
    manager = {
        "id": "fm",
        "name": "fm",
        "kind": "person",
        "role": "fleet_manager",
        "organisation": "fleet_operators",
        "fleet_id": fleet.id,
        "password": "fleet manager passphrase",
    }
    created = client.post("/v1/callers", json=manager, headers={"Authorization": f"Bearer {ADMIN}"})
    assert created.status_code == 201, created.text
    clock = container.decisions.clock
    assert isinstance(clock, FakeClock)
    clock.set(since - timedelta(seconds=1))  # a fleet manager decides now only: move now
    login = {"login": "fm", "password": manager["password"]}
    token = client.post("/v1/auth/login", json=login).json()["access_token"]
    body = {"purpose": "fleet_operation", "categories": ["vehicle_status"]}
    assert post(client, token, {**body, "vehicle_id": mine.id}).json()["rule"] == "fleet.not_member"
    clock.set(since)
    allowed = post(client, token, {**body, "vehicle_id": mine.id}).json()
    assert allowed.get("outcome") == "allow", allowed
    clock.set(AT)  # 30 days on: the token expired, log in again
    token = client.post("/v1/auth/login", json=login).json()["access_token"]
    own = post(client, token, {**body, "vehicle_id": mine.id}).json()
    assert own["outcome"] == "allow", own["reasons"]
    foreign = post(client, token, {**body, "vehicle_id": theirs.id}).json()
    assert foreign["rule"] == "fleet.not_member"
    assert foreign["reasons"][0]["section"] == "H"
    # ... and may not name another time: that is the privacy officer's or legal claims' only
    past = post(client, token, {**body, "vehicle_id": mine.id, "at": since.isoformat()}).json()
    assert past["outcome"] == "deny" and past["rule"] == "decision.time"


def test_only_the_officer_or_legal_claims_name_another_decision_time(
    api: tuple[TestClient, Services, dict[str, str]], engine: Engine
) -> None:
    """A caller-set time would let anyone decide "before the withdrawal" (SPEC U2, U3)."""
    client, container, tokens = api
    container.subject_state.give(
        tokens["s1"], "marketing_email", at=AT - timedelta(days=10), by="s1", channel="portal"
    )
    body = {"purpose": "marketing_email", "categories": ["contact"], "subject_id": tokens["s1"]}
    assert post(client, tokens["crm"], body).json()["outcome"] == "allow"  # now: allowed
    skewed = (AT + timedelta(minutes=2)).isoformat()  # clock skew is still now
    assert post(client, tokens["crm"], {**body, "at": skewed}).json()["outcome"] == "allow"
    before = audit_count(engine)
    earlier = (AT - timedelta(days=20)).isoformat()
    refused = post(client, tokens["crm"], {**body, "at": earlier}).json()
    assert refused["outcome"] == "deny" and refused["rule"] == "decision.time"
    assert refused["reasons"][0]["article"] == "Art. 5(2) GDPR"
    assert audit_count(engine) == before + 1  # the refusal is recorded
    with engine.connect() as conn:
        last = conn.execute(select(audit_log).order_by(audit_log.c.seq.desc())).first()
    assert last is not None and last.rule == "decision.time"
