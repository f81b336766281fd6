"""Automated decisions over HTTP (SPEC U4; Art. 22): recorded through the engine,
read by the person concerned for a purpose, reviewed by a human on request."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine

from carprivacy.bootstrap import bootstrap
from carprivacy.config import Settings
from carprivacy.domain.master import ContactDetails, UsageKind
from carprivacy.entrypoints.api.app import create_app

ADMIN = {"Authorization": "Bearer ad-admin-kkkkkkkkkkkkkkkkkkkkkkkkk"}


@pytest.fixture
def env(engine: Engine, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, Any]]]:
    settings = Settings(
        data_dir=tmp_path,
        admin_token=SecretStr("ad-admin-kkkkkkkkkkkkkkkkkkkkkkkkk"),
        argon2_time_cost=1,
        argon2_memory_kib=8,
    )
    container = bootstrap(settings, engine=engine)
    svc = container.master
    cust = svc.register_customer(
        ContactDetails(
            "Jansen", "Eva", "Dorpsstraat", "3", "3511 AB", "Utrecht", "NL", "eva@example.nl"
        )
    )
    other = svc.register_customer(
        ContactDetails("Smit", "Jan", "Laan", "9", "3511 AC", "Utrecht", "NL")
    )
    vehicle = svc.register_vehicle("WMW11DJ0302T12345", "MINI Countryman", "blue")
    start = datetime.now(UTC) - timedelta(days=60)
    svc.add_usage(vehicle.id, UsageKind.OWNER, start, customer_id=cust.id)
    svc.conclude_contract(cust.id, vehicle.id, start, ["teleservices"])
    with TestClient(create_app(container)) as client:
        tokens: dict[str, str] = {}
        people = {
            "eva": {"role": "customer", "organisation": "mini_nl", "subject_id": cust.id},
            "jan": {"role": "customer", "organisation": "mini_nl", "subject_id": other.id},
            "agent": {"role": "customer_service", "organisation": "mini_nl"},
        }
        for cid, spec in people.items():
            body = {
                "id": cid,
                "name": cid,
                "kind": "person",
                "password": "passphrase 12345",
                **spec,
            }
            assert client.post("/v1/callers", json=body, headers=ADMIN).status_code == 201
            r = client.post("/v1/auth/login", json={"login": cid, "password": "passphrase 12345"})
            tokens[cid] = r.json()["access_token"]
        m = client.post(
            "/v1/callers",
            headers=ADMIN,
            json={
                "id": "ubi_model",
                "name": "UBI model",
                "kind": "machine",
                "role": "service",
                "organisation": "mini_ag",
                "generate_secret": True,
            },
        ).json()
        r = client.post(
            "/v1/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "ubi_model",
                "client_secret": m["client_secret"],
            },
        )
        tokens["model"] = r.json()["access_token"]
        yield client, {"tokens": tokens, "customer": cust.id, "other": other.id}


def h(token: str, purpose: str | None = None) -> dict[str, str]:
    out = {"Authorization": f"Bearer {token}"}
    if purpose:
        out["X-Purpose"] = purpose
    return out


def test_record_read_request_review_and_decide(env: tuple[TestClient, dict[str, Any]]) -> None:
    client, ctx = env
    t = ctx["tokens"]
    body = {
        "subject_id": ctx["customer"],
        "purpose": "contract_performance",
        "model": "ubi-score",
        "model_version": "3.2.1",
        "inputs": {"harsh_braking_per_100km": "4.2"},
        "categories": ["vehicle_status"],
        "outcome": "premium class C",
    }
    r = client.post("/v1/automated-decisions", json=body, headers=h(t["model"]))
    assert r.status_code == 201, r.text
    d = r.json()
    assert (d["model_version"], d["recorded_by"]) == ("3.2.1", "ubi_model")
    # the engine decides the recording too: no contract covers the other customer
    denied = client.post(
        "/v1/automated-decisions", json={**body, "subject_id": ctx["other"]}, headers=h(t["model"])
    )
    assert denied.status_code == 403 and "contract.required" in str(denied.json()["reasons"])
    # a person cannot record automated decisions
    assert (
        client.post("/v1/automated-decisions", json=body, headers=h(t["agent"])).status_code == 403
    )
    path = f"/v1/automated-decisions/{d['id']}"
    assert client.get(path, headers=h(t["eva"])).status_code == 422  # no purpose
    mine = client.get(path, headers=h(t["eva"], "contract_performance"))
    assert mine.status_code == 200 and mine.json()["inputs"] == body["inputs"]
    assert client.get(path, headers=h(t["jan"], "contract_performance")).status_code == 403
    rr = client.post(
        f"{path}/review-requests", json={"reason": "I drive in city traffic"}, headers=h(t["eva"])
    )
    assert rr.status_code == 201 and rr.json()["status"] == "open"
    assert (
        client.post(
            f"{path}/review-requests", json={"reason": "not mine"}, headers=h(t["jan"])
        ).status_code
        == 403
    )
    decide = f"/v1/review-requests/{rr.json()['id']}/decision"
    by_model = client.post(
        decide, json={"outcome": "upheld", "note": "auto"}, headers=h(t["model"])
    )
    assert by_model.status_code == 403  # a machine never reviews
    done = client.post(
        decide,
        json={
            "outcome": "changed",
            "note": "city driving confirmed",
            "new_outcome": "premium class B",
        },
        headers=h(t["agent"]),
    )
    assert done.status_code == 200 and done.json()["reviewer"] == "agent"
    again = client.get(path, headers=h(t["eva"], "contract_performance")).json()
    assert [(x["status"], x["new_outcome"]) for x in again["reviews"]] == [
        ("decided", "premium class B")
    ]
    bad = client.post(
        "/v1/automated-decisions", json={**body, "categories": ["dna"]}, headers=h(t["model"])
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "categories[0]"
