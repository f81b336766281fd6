"""List reads and the order of 404 and 403 (SPEC U1, U3), over
HTTP on SQLite and PostgreSQL with the shipped policy.

A customer listing customers sees only itself, the total counts only what it may see, the audit
log gets one entry for the released rows (naming their subjects) plus one refusal for the rest
(no flood, no alert); a caller
that may not read a purpose at all gets 403 for a list and for an id, existing or not.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, select

from carprivacy.adapters.db.tables.access import audit_log
from carprivacy.bootstrap import Services, bootstrap, load_policy
from carprivacy.config import Settings
from carprivacy.domain.policy import Policy
from carprivacy.entrypoints.api.app import create_app
from carprivacy.services.audit.trail import AuditQuery

TOKEN = "list-reads-admin-token-kkkkkkkkkkk"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
CUSTOMER = {
    "surname": "Jansen",
    "first_name": "Eva",
    "street": "Oudegracht",
    "house_number": "12",
    "postal_code": "3511 AB",
    "city": "Utrecht",
    "country": "NL",
}
VEHICLE = {
    "model": "MINI Cooper SE",
    "colour": "Enigmatic Black",
    "equipment": [],
    "end_of_life": "2041-12-31",
}
N_OTHERS = 20


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(Settings())


@pytest.fixture
def world(
    engine: Engine, tmp_path: Path, policy: Policy
) -> Iterator[tuple[TestClient, Services, dict[str, Any]]]:
    settings = Settings(
        data_dir=tmp_path, admin_token=SecretStr(TOKEN), argon2_time_cost=1, argon2_memory_kib=8
    )
    container = bootstrap(settings, engine=engine, policy=policy)
    with TestClient(create_app(container)) as client:
        ids = [
            client.post("/v1/customers", json=CUSTOMER, headers=ADMIN).json()["id"]
            for _ in range(N_OTHERS + 1)
        ]
        vin = "WMW31DH0402T{:05d}"
        vehicles = [
            client.post(
                "/v1/vehicles", json={**VEHICLE, "vin": vin.format(i)}, headers=ADMIN
            ).json()["id"]
            for i in range(3)
        ]
        contract = {
            "customer_id": ids[0],
            "vehicle_id": vehicles[0],
            "start": "2024-01-01T00:00:00Z",
            "services": ["ecall"],
        }
        r = client.post("/v1/contracts", json=contract, headers=ADMIN)
        assert r.status_code == 201, r.text
        tokens = {
            "customer": _login(client, "eva", "customer", "mini_nl", subject_id=ids[0]),
            "analyst": _login(client, "ana", "rnd_analyst", "mini_ag"),
            "desk": _login(client, "desk", "customer_service", "mini_nl"),
        }
        yield client, container, {"customers": ids, "vehicles": vehicles, "tokens": tokens}
    container.close()


def _login(client: TestClient, cid: str, role: str, org: str, **extra: str) -> str:
    body = {
        "id": cid,
        "name": cid,
        "kind": "person",
        "role": role,
        "organisation": org,
        "password": f"{cid} passphrase long",
        **extra,
    }
    r = client.post("/v1/callers", json=body, headers=ADMIN)
    assert r.status_code == 201, r.text
    login = {"login": cid, "password": body["password"]}
    return str(client.post("/v1/auth/login", json=login).json()["access_token"])


def _as(token: str, purpose: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "X-Purpose": purpose}


def _audit(engine: Engine, caller_id: str) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.outcome, audit_log.c.rule, audit_log.c.subject_ref)
            .where(audit_log.c.caller_id == caller_id)
            .order_by(audit_log.c.seq)
        )
        return [(r.outcome, r.rule, r.subject_ref) for r in rows]


def test_a_customer_lists_only_itself_with_one_refusal_entry_and_no_alert(
    world: tuple[TestClient, Services, dict[str, Any]], engine: Engine
) -> None:
    client, container, w = world
    r = client.get("/v1/customers", headers=_as(w["tokens"]["customer"], "contract_conclusion"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 1  # not 21: how many customers exist is not the customer's business
    assert [c["id"] for c in body["items"]] == [w["customers"][0]]
    entries = _audit(engine, "eva")
    own_ref = container.audit.subject_ref(w["customers"][0])
    assert entries == [("allow", "purpose.allowed", own_ref), ("deny", "caller.not_own_data", "")]
    alerts = client.get("/v1/alerts", headers=ADMIN).json()
    assert [a for a in alerts if a["rule"] == "denied_burst"] == []


def test_a_customer_page_beyond_its_rows_is_empty_with_the_same_total(
    world: tuple[TestClient, Services, dict[str, Any]],
) -> None:
    client, _, w = world
    r = client.get(
        "/v1/customers",
        params={"offset": 1},
        headers=_as(w["tokens"]["customer"], "contract_conclusion"),
    )
    assert r.status_code == 200 and r.json()["items"] == [] and r.json()["total"] == 1


def test_staff_list_is_decided_per_row_and_audited_as_one_access_to_its_subjects(
    world: tuple[TestClient, Services, dict[str, Any]], engine: Engine
) -> None:
    """U3: a page of 5 is ONE entry naming its 5 subjects, and the accesses to one of them
    (the audit search by subject) find it."""
    client, container, w = world
    r = client.get(
        "/v1/customers",
        params={"limit": 5},
        headers=_as(w["tokens"]["desk"], "prospect_communication"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["total"] == N_OTHERS + 1 and len(r.json()["items"]) == 5
    assert _audit(engine, "desk") == [("allow", "purpose.allowed", "")]
    with engine.connect() as conn:
        listed = conn.execute(select(audit_log.c.subjects, audit_log.c.seq)).all()[-1]
    refs = [container.audit.subject_ref(i["id"]) for i in r.json()["items"]]
    assert listed.subjects.split(",") == refs
    found = container.audit.find(AuditQuery(subject_ref=refs[3], caller_id="desk"))
    assert [e.seq for e in found] == [listed.seq]
    assert container.audit.verify().ok


def test_a_purpose_the_caller_may_not_use_is_403_for_list_and_single_alike(
    world: tuple[TestClient, Services, dict[str, Any]], engine: Engine
) -> None:
    client, _, w = world
    headers = _as(w["tokens"]["analyst"], "product_development")
    listed = client.get("/v1/vehicles", headers=headers)
    single = client.get(f"/v1/vehicles/{w['vehicles'][0]}", headers=headers)
    assert listed.status_code == single.status_code == 403
    assert listed.json()["reasons"] == single.json()["reasons"]
    assert len(_audit(engine, "ana")) == 2  # one entry per request, not one per vehicle


@pytest.mark.parametrize(
    "path",
    [
        "/v1/customers/{id}",
        "/v1/customers/{id}/contracts",
        "/v1/customers/{id}/payments",
        "/v1/customers/{id}/accounts",
        "/v1/customers/{id}/usages",
        "/v1/customers/{id}/vehicles",
    ],
)
def test_403_comes_before_404_for_a_subject_id(
    world: tuple[TestClient, Services, dict[str, Any]], path: str
) -> None:
    client, _, w = world
    analyst = _as(w["tokens"]["analyst"], "contract_conclusion")  # role may not use section A
    known = client.get(path.format(id=w["customers"][1]), headers=analyst)
    unknown = client.get(path.format(id="no-such-customer"), headers=analyst)
    assert known.status_code == unknown.status_code == 403
    assert known.json()["reasons"] == unknown.json()["reasons"]
    customer = _as(w["tokens"]["customer"], "contract_conclusion")  # someone else's id
    other = client.get(path.format(id=w["customers"][1]), headers=customer)
    missing = client.get(path.format(id="no-such-customer"), headers=customer)
    assert other.status_code == missing.status_code == 403
    assert other.json()["reasons"] == missing.json()["reasons"]
    if path == "/v1/customers/{id}":
        assert any("caller.not_own_data" in r for r in missing.json()["reasons"])
    # Staff whose purpose needs a contract get for an unknown customer the refusal a customer
    # without a contract gets: the gate answers a forbidden and an unknown record alike.
    staff = _as(w["tokens"]["desk"], "contract_conclusion")
    answer = client.get(path.format(id="no-such-customer"), headers=staff)
    assert answer.status_code == 403
    if not path.endswith(("usages", "vehicles")):  # those categories are outside section A
        assert any("contract.required" in r for r in answer.json()["reasons"])


def test_403_comes_before_404_for_a_vehicle_id(
    world: tuple[TestClient, Services, dict[str, Any]],
) -> None:
    client, _, w = world
    headers = _as(w["tokens"]["analyst"], "contract_conclusion")
    for path in ("/v1/vehicles/{id}", "/v1/vehicles/{id}/usages", "/v1/vehicles/{id}/subject"):
        known = client.get(path.format(id=w["vehicles"][0]), headers=headers)
        unknown = client.get(path.format(id="no-such-vehicle"), headers=headers)
        assert known.status_code == unknown.status_code == 403, path


def test_a_customer_cannot_tell_unknown_ids_from_others_rows(
    world: tuple[TestClient, Services, dict[str, Any]], engine: Engine
) -> None:
    client, _, w = world
    customer = _as(w["tokens"]["customer"], "contract_conclusion")
    own = client.get("/v1/contracts", headers=customer).json()["items"]
    assert len(own) == 1
    assert client.get(f"/v1/contracts/{own[0]['id']}", headers=customer).status_code == 200
    missing = client.get("/v1/contracts/no-such-contract", headers=customer)
    assert missing.status_code == 403
    assert any("caller.not_own_data" in r for r in missing.json()["reasons"])
    assert _audit(engine, "eva")[-1] == ("deny", "caller.not_own_data", "")
    staff = _as(w["tokens"]["desk"], "contract_conclusion")  # refused alike (contract basis)
    answer = client.get("/v1/contracts/no-such-contract", headers=staff)
    assert answer.status_code == 403
    assert any("contract.required" in r for r in answer.json()["reasons"])
