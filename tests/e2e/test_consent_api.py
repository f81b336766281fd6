"""Consent, objection and restriction over HTTP, as a customer and as staff, with the shipped policy
on SQLite and PostgreSQL: the next decision and the next gated read see each change at once
(SPEC C1, C4, R4, R6, U2)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, select

from carprivacy.adapters.db.tables.access import audit_log
from carprivacy.adapters.email.outbox import FileEmailOutbox
from carprivacy.bootstrap import bootstrap
from carprivacy.config import Settings
from carprivacy.domain.consent_ledger import text_hash
from carprivacy.domain.master import ContactDetails, UsageKind
from carprivacy.entrypoints.api.app import create_app

ADMIN_TOKEN = "consent-admin-kkkkkkkkkkkkkkkkkkkkkkk"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
PASSWORD = "passphrase 12345"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def env(engine: Engine, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, Any]]]:
    settings = Settings(
        data_dir=tmp_path,
        admin_token=SecretStr(ADMIN_TOKEN),
        argon2_time_cost=1,
        argon2_memory_kib=8,
    )
    container = bootstrap(settings, engine=engine)
    svc = container.master
    eva = svc.register_customer(
        ContactDetails(
            "Jansen", "Eva", "Dorpsstraat", "3", "3511 AB", "Utrecht", "NL", "eva@example.nl"
        )
    )
    jan = svc.register_customer(
        ContactDetails("Smit", "Jan", "Laan", "9", "3511 AC", "Utrecht", "NL")
    )
    vehicle = svc.register_vehicle("WMW11DJ0302T12345", "MINI Countryman", "blue")
    start = datetime.now(UTC) - timedelta(days=60)
    svc.add_usage(vehicle.id, UsageKind.OWNER, start, customer_id=eva.id)
    svc.conclude_contract(eva.id, vehicle.id, start, ["teleservices"])
    with TestClient(create_app(container)) as client:
        tokens: dict[str, str] = {}
        people = {
            "eva": {"role": "customer", "organisation": "mini_nl", "subject_id": eva.id},
            "jan": {"role": "customer", "organisation": "mini_nl", "subject_id": jan.id},
            "agent": {"role": "customer_service", "organisation": "mini_nl"},
            "dpo": {"role": "privacy_officer", "organisation": "mini_nl"},
        }
        for cid, spec in people.items():
            body = {"id": cid, "name": cid, "kind": "person", "password": PASSWORD, **spec}
            assert client.post("/v1/callers", json=body, headers=ADMIN).status_code == 201
            r = client.post("/v1/auth/login", json={"login": cid, "password": PASSWORD})
            tokens[cid] = r.json()["access_token"]
        for cid, role, org in (
            ("crm", "service", "mini_nl"),
            ("ins_a", "partner", "cardata_third_parties"),
            ("ins_b", "partner", "cardata_third_parties"),
        ):
            made = client.post(
                "/v1/callers",
                headers=ADMIN,
                json={
                    "id": cid,
                    "name": cid,
                    "kind": "machine",
                    "role": role,
                    "organisation": org,
                    "generate_secret": True,
                },
            )
            assert made.status_code == 201, made.text
            t = client.post(
                "/v1/oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": cid,
                    "client_secret": made.json()["client_secret"],
                },
            )
            tokens[cid] = t.json()["access_token"]
        yield (
            client,
            {
                "tokens": tokens,
                "eva": eva.id,
                "jan": jan.id,
                "vehicle": vehicle.id,
                "outbox": tmp_path / "outbox",
            },
        )
    container.close()


def decide(client: TestClient, token: str, purpose: str, cats: list[str], subject: str) -> Any:
    r = client.post(
        "/v1/decisions",
        json={"purpose": purpose, "categories": cats, "subject_id": subject},
        headers=bearer(token),
    )
    assert r.status_code == 200, r.text
    return r.json()


def read_customer(client: TestClient, token: str, subject: str, purpose: str) -> int:
    r = client.get(f"/v1/customers/{subject}", params={"purpose": purpose}, headers=bearer(token))
    return r.status_code


def give(client: TestClient, token: str, subject: str, **body: Any) -> Any:
    return client.post(f"/v1/subjects/{subject}/consents", json=body, headers=bearer(token))


def test_a_customer_gives_and_withdraws_consent_and_the_next_decision_and_read_change(
    env: tuple[TestClient, dict[str, Any]],
) -> None:
    client, ctx = env
    eva, tok = ctx["eva"], ctx["tokens"]
    assert decide(client, tok["crm"], "marketing_email", ["contact"], eva)["rule"] == (
        "consent.required"
    )
    assert read_customer(client, tok["crm"], eva, "marketing_email") == 403
    r = give(client, tok["eva"], eva, topic="marketing_email", channel="app", language="en")
    assert r.status_code == 201, r.text
    entry = r.json()
    assert entry["actor"] == "subject" and entry["recorded_by"] == "eva"
    assert entry["text_version"] == "1" and entry["language"] == "en"
    assert entry["text_hash"] == text_hash(
        "I consent to MINI NL informing me by e-mail about products and services."
    )
    assert decide(client, tok["crm"], "marketing_email", ["contact"], eva)["outcome"] == "allow"
    assert read_customer(client, tok["crm"], eva, "marketing_email") == 200
    # e-mail is one channel: post is still refused
    assert decide(client, tok["crm"], "marketing_post", ["contact"], eva)["outcome"] == "deny"
    w = client.post(
        f"/v1/subjects/{eva}/consents/withdrawals",
        json={"topic": "marketing_email", "channel": "portal"},
        headers=bearer(tok["eva"]),
    )
    assert w.status_code == 201, w.text
    assert decide(client, tok["crm"], "marketing_email", ["contact"], eva)["rule"] == (
        "consent.withdrawn"
    )
    assert read_customer(client, tok["crm"], eva, "marketing_email") == 403
    again = client.post(
        f"/v1/subjects/{eva}/consents/withdrawals",
        json={"topic": "marketing_email", "channel": "portal"},
        headers=bearer(tok["eva"]),
    )
    assert again.status_code == 404


def test_cardata_consent_counts_for_the_chosen_party_only(
    env: tuple[TestClient, dict[str, Any]],
) -> None:
    client, ctx = env
    eva, tok = ctx["eva"], ctx["tokens"]
    missing = give(client, tok["eva"], eva, topic="cardata_sharing", channel="app")
    assert missing.status_code == 422 and "party" in missing.text
    r = give(client, tok["eva"], eva, topic="cardata_sharing", channel="app", party="ins_a")
    assert r.status_code == 201, r.text
    cats = ["vehicle_status"]
    assert decide(client, tok["ins_a"], "cardata_sharing", cats, eva)["outcome"] == "allow"
    assert decide(client, tok["ins_b"], "cardata_sharing", cats, eva)["rule"] == (
        "consent.required"
    )
    w = client.post(
        f"/v1/subjects/{eva}/consents/withdrawals",
        json={"topic": "cardata_sharing", "channel": "app", "party": "ins_a"},
        headers=bearer(tok["eva"]),
    )
    assert w.status_code == 201
    assert decide(client, tok["ins_a"], "cardata_sharing", cats, eva)["outcome"] == "deny"


def test_obfcm_refusal_is_per_vehicle_and_recorded_at_the_workshop_by_staff(
    env: tuple[TestClient, dict[str, Any]],
) -> None:
    client, ctx = env
    eva, tok = ctx["eva"], ctx["tokens"]
    no_vehicle = give(client, tok["eva"], eva, topic="obfcm_refusal", channel="vehicle")
    assert no_vehicle.status_code == 422 and "vehicle_id" in no_vehicle.text
    r = client.post(
        f"/v1/subjects/{eva}/consents",
        params={"purpose": "customer_service"},
        json={"topic": "obfcm_refusal", "channel": "workshop", "vehicle_id": ctx["vehicle"]},
        headers=bearer(tok["agent"]),
    )
    assert r.status_code == 201, r.text
    assert r.json()["choice"] == "refused" and r.json()["actor"] == "staff"


def test_who_may_act_for_whom(env: tuple[TestClient, dict[str, Any]]) -> None:
    client, ctx = env
    eva, jan, tok = ctx["eva"], ctx["jan"], ctx["tokens"]
    body = {"topic": "marketing_post", "channel": "portal"}
    assert give(client, tok["jan"], eva, **body).status_code == 403  # not their own
    assert give(client, tok["agent"], eva, **body).status_code == 403  # no purpose named
    denied = client.post(
        f"/v1/subjects/{eva}/consents",
        params={"purpose": "product_development"},
        json=body,
        headers=bearer(tok["agent"]),
    )
    assert denied.status_code == 403  # a purpose the role may not use
    assert give(client, tok["crm"], eva, **body).status_code == 403  # machines do not act
    ok = client.post(
        f"/v1/subjects/{eva}/consents",
        headers={**bearer(tok["agent"]), "X-Purpose": "customer_service"},
        json={"topic": "marketing_post", "channel": "call_centre"},
    )
    assert ok.status_code == 201 and ok.json()["actor"] == "staff"
    bad = give(client, tok["eva"], eva, topic="marketing_post", channel="fax")
    assert bad.status_code == 422 and "channel" in bad.text
    assert give(client, tok["jan"], jan, topic="nope", channel="app").status_code == 422
    unknown = client.post(
        "/v1/subjects/nobody/consents",
        params={"purpose": "customer_service"},
        json=body,
        headers=bearer(tok["agent"]),
    )
    assert unknown.status_code == 404


def test_an_objection_stops_the_purpose_objected_to_and_no_other(
    env: tuple[TestClient, dict[str, Any]],
) -> None:
    client, ctx = env
    eva, tok = ctx["eva"], ctx["tokens"]
    cats = ["maintenance_service"]
    assert give(client, tok["eva"], eva, topic="marketing_email", channel="app").status_code == 201
    assert decide(client, tok["crm"], "after_sales_service", cats, eva)["outcome"] == "allow"
    r = client.post(
        f"/v1/subjects/{eva}/objections",
        json={"purpose": "after_sales_service", "channel": "portal", "grounds": "my situation"},
        headers=bearer(tok["eva"]),
    )
    assert r.status_code == 201, r.text
    objection = r.json()["record_id"]
    assert decide(client, tok["crm"], "after_sales_service", cats, eva)["rule"] == (
        "objection.art21"
    )
    # a contract purpose and a consented marketing purpose go on
    assert decide(client, tok["crm"], "customer_service", ["contact"], eva)["outcome"] == "allow"
    assert decide(client, tok["crm"], "marketing_email", ["contact"], eva)["outcome"] == "allow"
    assert read_customer(client, tok["crm"], eva, "customer_service") == 200
    # the officer's override with recorded grounds lets the purpose go on
    not_dpo = client.post(
        f"/v1/subjects/{eva}/overrides",
        params={"purpose": "customer_service"},
        json={"purpose": "after_sales_service", "ground": "legal_claims", "justification": "x"},
        headers=bearer(tok["agent"]),
    )
    assert not_dpo.status_code == 403
    ov = client.post(
        f"/v1/subjects/{eva}/overrides",
        params={"purpose": "customer_service"},
        json={
            "purpose": "after_sales_service",
            "ground": "legal_claims",
            "justification": "warranty dispute, case 12",
        },
        headers=bearer(tok["dpo"]),
    )
    assert ov.status_code == 201, ov.text
    assert decide(client, tok["crm"], "after_sales_service", cats, eva)["outcome"] == "allow"
    # withdrawing the objection
    wd = client.post(
        f"/v1/subjects/{eva}/objections/{objection}/withdrawal",
        json={"channel": "app"},
        headers=bearer(tok["eva"]),
    )
    assert wd.status_code == 201


def test_a_marketing_objection_stops_all_marketing_and_cannot_be_overridden(
    env: tuple[TestClient, dict[str, Any]],
) -> None:
    client, ctx = env
    eva, tok = ctx["eva"], ctx["tokens"]
    assert give(client, tok["eva"], eva, topic="marketing_email", channel="app").status_code == 201
    r = client.post(
        f"/v1/subjects/{eva}/objections",
        json={"marketing": True, "channel": "app"},
        headers=bearer(tok["eva"]),
    )
    assert r.status_code == 201
    assert decide(client, tok["crm"], "marketing_email", ["contact"], eva)["rule"] == (
        "objection.marketing"
    )
    assert decide(client, tok["crm"], "customer_service", ["contact"], eva)["outcome"] == "allow"
    ov = client.post(
        f"/v1/subjects/{eva}/overrides",
        params={"purpose": "customer_service"},
        json={"purpose": "marketing_email", "ground": "compelling_grounds", "justification": "x"},
        headers=bearer(tok["dpo"]),
    )
    assert ov.status_code == 422
    bad = client.post(
        f"/v1/subjects/{eva}/objections",
        json={"purpose": "customer_service", "channel": "app"},
        headers=bearer(tok["eva"]),
    )
    assert bad.status_code == 422 and "art21" in bad.text  # a contract purpose


def test_a_restriction_keeps_legal_claims_and_consent_and_lifts_with_a_notice(
    env: tuple[TestClient, dict[str, Any]],
) -> None:
    client, ctx = env
    eva, tok = ctx["eva"], ctx["tokens"]
    assert give(client, tok["eva"], eva, topic="marketing_email", channel="app").status_code == 201
    r = client.post(
        f"/v1/subjects/{eva}/restrictions",
        json={"case": "accuracy_contested", "channel": "portal"},
        headers=bearer(tok["eva"]),
    )
    assert r.status_code == 201, r.text
    restriction = r.json()["record_id"]
    assert decide(client, tok["crm"], "customer_service", ["contact"], eva)["rule"] == (
        "restriction.art18"
    )
    assert read_customer(client, tok["crm"], eva, "customer_service") == 403
    assert decide(client, tok["crm"], "legal_claims", ["contact"], eva)["outcome"] == "allow"
    assert decide(client, tok["crm"], "marketing_email", ["contact"], eva)["outcome"] == "allow"
    # each allow under the restriction says on which Art. 18(2) ground it runs
    claims = decide(client, tok["crm"], "legal_claims", ["contact"], eva)["reasons"]
    assert any(
        x["rule"] == "restriction.art18_ground" and x["article"] == "Art. 18(2) GDPR"
        for x in claims
    ), claims
    consented = decide(client, tok["crm"], "marketing_email", ["contact"], eva)["reasons"]
    assert "restriction.art18_consent" in {x["rule"] for x in consented}
    # the person does not lift it; staff do, after the notice
    own = client.post(
        f"/v1/subjects/{eva}/restrictions/{restriction}/lift",
        json={},
        headers=bearer(tok["eva"]),
    )
    assert own.status_code == 403
    lift = client.post(
        f"/v1/subjects/{eva}/restrictions/{restriction}/lift",
        params={"purpose": "customer_service"},
        json={"language": "en"},
        headers=bearer(tok["agent"]),
    )
    assert lift.status_code == 201, lift.text
    messages = FileEmailOutbox(ctx["outbox"]).messages()
    assert [m["To"] for m in messages] == ["eva@example.nl"]
    assert "Art. 18(1)(a) GDPR" in messages[0].get_content()
    assert decide(client, tok["crm"], "customer_service", ["contact"], eva)["outcome"] == "allow"
    bad = client.post(
        f"/v1/subjects/{eva}/restrictions",
        json={"case": "because", "channel": "portal"},
        headers=bearer(tok["eva"]),
    )
    assert bad.status_code == 422 and "case" in bad.text


def test_history_export_and_state_show_every_entry_and_every_write_is_audited(
    env: tuple[TestClient, dict[str, Any]],
    engine: Engine,
) -> None:
    client, ctx = env
    eva, tok = ctx["eva"], ctx["tokens"]
    give(client, tok["eva"], eva, topic="marketing_email", channel="app")
    give(client, tok["eva"], eva, topic="profiling", channel="portal")
    client.post(
        f"/v1/subjects/{eva}/consents/withdrawals",
        json={"topic": "profiling", "channel": "portal"},
        headers=bearer(tok["eva"]),
    )
    client.post(
        f"/v1/subjects/{eva}/objections",
        json={"marketing": True, "channel": "app"},
        headers=bearer(tok["eva"]),
    )
    client.post(
        f"/v1/subjects/{eva}/restrictions",
        json={"case": "objection_pending", "channel": "app"},
        headers=bearer(tok["eva"]),
    )
    state = client.get(f"/v1/subjects/{eva}/consent-state", headers=bearer(tok["eva"])).json()
    assert [c["topic"] for c in state["consents"]] == ["marketing_email"]
    assert len(state["objections"]) == 1 and state["restrictions"][0]["case"] == "objection_pending"
    h = client.get(f"/v1/subjects/{eva}/consent-history", headers=bearer(tok["eva"]))
    assert h.status_code == 200
    kinds = [e["kind"] for e in h.json()["entries"]]
    assert kinds == [
        "consent_given",
        "consent_given",
        "consent_withdrawn",
        "objection_made",
        "restriction_started",
    ]
    c = client.get(
        f"/v1/subjects/{eva}/consent-history", params={"format": "csv"}, headers=bearer(tok["eva"])
    )
    assert c.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(c.text)))
    assert [r["kind"] for r in rows] == kinds and rows[0]["channel"] == "app"
    other = client.get(f"/v1/subjects/{eva}/consent-history", headers=bearer(tok["jan"]))
    assert other.status_code == 403
    with engine.connect() as conn:
        rules = [r for (r,) in conn.execute(select(audit_log.c.rule)) if r.startswith("ledger.")]
    assert len(rules) == 5
