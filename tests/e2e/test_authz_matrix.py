"""The authorisation matrix (SPEC U1, U2, U3): every route x every kind of caller, declared in
one table below and checked against the running app on the SQL store.

Callers: anonymous, the bootstrap admin, each staff role, two customers (A and B), a fleet
manager, an internal service, a development partner, two insurers of whom only one holds
A's CarData share, and a CarData client of each customer (authz_world.py). For every read
route and every caller, with each purpose of PURPOSES (and none), the test finds which requests
released A's data, and the table must say exactly that. It also checks: no customer reads
another's data (0 reads across subjects); an unknown id and a forbidden id answer alike (no
existence oracle); list totals count only what the caller may read; and every write route
refuses every caller its table row does not name.
A new route fails here until it has a row.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import test_route_walk as walk
from authz_world import ADMIN, World, build
from fastapi.testclient import TestClient
from pydantic import SecretStr

from carprivacy.adapters.db.base import load_all_tables
from carprivacy.adapters.db.engine import make_engine
from carprivacy.bootstrap import bootstrap
from carprivacy.config import Settings
from carprivacy.entrypoints.api.app import create_app

PURPOSES: tuple[str | None, ...] = (
    None,
    "customer_service",
    "contract_performance",
    "product_development",
    "after_sales_service",
    "legal_claims",
    "cardata_sharing",
    "fleet_operation",
    "development_partners",
    "dealer_reports",
    "authority_requests",
    "compliance",
)
ANY = PURPOSES
CALLERS = frozenset(
    {
        "admin", "administrator", "privacy_officer", "customer_service", "authority_liaison",
        "rnd_analyst", "dealer", "fleet_manager", "customer_a", "customer_b", "service",
        "catena_x_partner", "insurer_shared", "insurer_unshared", "cardata_a", "cardata_b",
    }
)  # fmt: skip
# every caller with a token of the platform's own API (not the anonymous one; a CarData
# client's token opens the CarData API only)
AUTHENTICATED = CALLERS - {"cardata_a", "cardata_b"}

# Read routes of data subjects' data: caller -> the purposes with which A's data is released.
# A caller not named reads nothing of A's with any purpose.
READS: dict[str, dict[str, tuple[str | None, ...]]] = {
    "GET /v1/contracts": {
        "privacy_officer": ("customer_service", "legal_claims", "authority_requests", "compliance"),
        "customer_service": ("customer_service",),
        "authority_liaison": ("legal_claims", "authority_requests", "compliance"),
        "customer_a": ("customer_service",),
        "customer_b": ("customer_service",),
        "service": ("legal_claims", "authority_requests", "compliance"),
    },
    "GET /v1/contracts/{contract_id}": {
        "privacy_officer": ("customer_service", "legal_claims", "authority_requests", "compliance"),
        "customer_service": ("customer_service",),
        "authority_liaison": ("legal_claims", "authority_requests", "compliance"),
        "customer_a": ("customer_service",),
        "service": ("legal_claims", "authority_requests", "compliance"),
    },
    "GET /v1/customers": {
        "privacy_officer": ("customer_service", "legal_claims", "authority_requests", "compliance"),
        "customer_service": ("customer_service",),
        "authority_liaison": ("legal_claims", "authority_requests", "compliance"),
        "customer_a": ("customer_service",),
        "customer_b": ("customer_service",),
        "service": ("legal_claims", "authority_requests", "compliance"),
    },
    "GET /v1/customers/{customer_id}": {
        "privacy_officer": ("customer_service", "legal_claims", "authority_requests", "compliance"),
        "customer_service": ("customer_service",),
        "authority_liaison": ("legal_claims", "authority_requests", "compliance"),
        "customer_a": ("customer_service",),
        "service": ("legal_claims", "authority_requests", "compliance"),
    },
    "GET /v1/customers/{customer_id}/accounts": {
        "privacy_officer": ("customer_service", "legal_claims", "authority_requests"),
        "customer_service": ("customer_service",),
        "authority_liaison": ("legal_claims", "authority_requests"),
        "customer_a": ("customer_service",),
        "service": ("legal_claims", "authority_requests"),
    },
    "GET /v1/customers/{customer_id}/contracts": {
        "privacy_officer": ("customer_service", "legal_claims", "authority_requests", "compliance"),
        "customer_service": ("customer_service",),
        "authority_liaison": ("legal_claims", "authority_requests", "compliance"),
        "customer_a": ("customer_service",),
        "service": ("legal_claims", "authority_requests", "compliance"),
    },
    "GET /v1/customers/{customer_id}/payments": {
        "privacy_officer": ("legal_claims", "authority_requests"),
        "authority_liaison": ("legal_claims", "authority_requests"),
        "service": ("legal_claims", "authority_requests"),
    },
    "GET /v1/customers/{customer_id}/telemetry": {
        "privacy_officer": ("authority_requests",),
        "customer_service": ("contract_performance",),
        "authority_liaison": ("authority_requests",),
        "rnd_analyst": ("product_development",),
        "customer_a": ("contract_performance",),
        "service": (
            "contract_performance",
            "product_development",
            "development_partners",
            "authority_requests",
        ),
        "catena_x_partner": ("development_partners",),
        "insurer_shared": ("cardata_sharing",),
    },
    "GET /v1/customers/{customer_id}/usages": {
        "privacy_officer": ("customer_service", "legal_claims", "authority_requests"),
        "customer_service": ("customer_service",),
        "authority_liaison": ("legal_claims", "authority_requests"),
        "customer_a": ("customer_service",),
        "service": ("legal_claims", "development_partners", "authority_requests"),
        "catena_x_partner": ("development_partners",),
        "insurer_shared": ("cardata_sharing",),
    },
    "GET /v1/customers/{customer_id}/vehicles": {
        "privacy_officer": ("customer_service", "legal_claims", "authority_requests"),
        "customer_service": ("customer_service",),
        "authority_liaison": ("legal_claims", "authority_requests"),
        "customer_a": ("customer_service",),
        "service": ("legal_claims", "development_partners", "authority_requests"),
        "catena_x_partner": ("development_partners",),
        "insurer_shared": ("cardata_sharing",),
    },
    "GET /v1/fleets": {
        "privacy_officer": ("legal_claims", "authority_requests", "compliance"),
        "authority_liaison": ("legal_claims", "authority_requests", "compliance"),
        "service": ("legal_claims", "authority_requests", "compliance"),
    },
    "GET /v1/fleets/{fleet_id}": {
        "privacy_officer": ("legal_claims", "authority_requests", "compliance"),
        "authority_liaison": ("legal_claims", "authority_requests", "compliance"),
        "service": ("legal_claims", "authority_requests", "compliance"),
    },
    "GET /v1/payments": {
        "privacy_officer": ("legal_claims", "authority_requests"),
        "authority_liaison": ("legal_claims", "authority_requests"),
        "service": ("legal_claims", "authority_requests"),
    },
    "GET /v1/payments/{payment_id}": {
        "privacy_officer": ("legal_claims", "authority_requests"),
        "authority_liaison": ("legal_claims", "authority_requests"),
        "service": ("legal_claims", "authority_requests"),
    },
    "GET /v1/subjects/{subject_id}/consent-history": {
        "privacy_officer": ("customer_service", "legal_claims", "authority_requests", "compliance"),
        "customer_service": ("customer_service",),
        "customer_a": ANY,
    },
    "GET /v1/subjects/{subject_id}/consent-state": {
        "privacy_officer": ("customer_service", "legal_claims", "authority_requests", "compliance"),
        "customer_service": ("customer_service",),
        "customer_a": ANY,
    },
    "GET /v1/vehicles": {
        "privacy_officer": ("customer_service", "legal_claims", "authority_requests"),
        "customer_service": ("customer_service",),
        "authority_liaison": ("legal_claims", "authority_requests"),
        "dealer": ("after_sales_service",),
        "customer_a": ("customer_service",),
        "customer_b": ("customer_service",),
        "service": (
            "after_sales_service",
            "legal_claims",
            "development_partners",
            "authority_requests",
        ),
        "catena_x_partner": ("development_partners",),
        "insurer_shared": ("cardata_sharing",),
    },
    "GET /v1/vehicles/{vehicle_id}": {
        "privacy_officer": ("customer_service", "legal_claims", "authority_requests"),
        "customer_service": ("customer_service",),
        "authority_liaison": ("legal_claims", "authority_requests"),
        "dealer": ("after_sales_service",),
        "customer_a": ("customer_service",),
        "service": (
            "after_sales_service",
            "legal_claims",
            "development_partners",
            "authority_requests",
        ),
        "catena_x_partner": ("development_partners",),
        "insurer_shared": ("cardata_sharing",),
    },
    "GET /v1/vehicles/{vehicle_id}/subject": {
        "privacy_officer": ("customer_service", "legal_claims", "authority_requests"),
        "customer_service": ("customer_service",),
        "authority_liaison": ("legal_claims", "authority_requests"),
        "dealer": ("after_sales_service",),
        "customer_a": ("customer_service",),
        "service": (
            "after_sales_service",
            "legal_claims",
            "development_partners",
            "authority_requests",
        ),
        "catena_x_partner": ("development_partners",),
        "insurer_shared": ("cardata_sharing",),
    },
    "GET /v1/vehicles/{vehicle_id}/telemetry": {
        "privacy_officer": ("authority_requests",),
        "customer_service": ("contract_performance",),
        "authority_liaison": ("authority_requests",),
        "rnd_analyst": ("product_development",),
        "dealer": ("after_sales_service",),
        "fleet_manager": ("fleet_operation",),
        "customer_a": ("contract_performance",),
        "service": (
            "contract_performance",
            "product_development",
            "after_sales_service",
            "fleet_operation",
            "development_partners",
            "authority_requests",
        ),
        "catena_x_partner": ("development_partners",),
        "insurer_shared": ("cardata_sharing",),
    },
    "GET /v1/vehicles/{vehicle_id}/usages": {
        "privacy_officer": ("customer_service", "legal_claims", "authority_requests"),
        "customer_service": ("customer_service",),
        "authority_liaison": ("legal_claims", "authority_requests"),
        "dealer": ("after_sales_service",),
        "customer_a": ("customer_service",),
        "service": (
            "after_sales_service",
            "legal_claims",
            "development_partners",
            "authority_requests",
        ),
        "catena_x_partner": ("development_partners",),
        "insurer_shared": ("cardata_sharing",),
    },
}

# Operator routes that hold no data subject's record: the callers they answer (any purpose).
OPERATOR_READS: dict[str, frozenset[str]] = {
    "GET /v1/alerts": frozenset({"admin", "administrator", "privacy_officer"}),
    "GET /v1/audit": frozenset({"privacy_officer"}),
    "GET /v1/audit/verify": frozenset({"admin", "administrator", "privacy_officer"}),
    "GET /v1/callers": frozenset({"admin", "administrator"}),
    "GET /v1/third-parties": frozenset({"admin", "administrator"}),
}

# Routes that answer the caller about itself (no id, no purpose: the access right is the
# purpose): the callers they answer. Each customer's answers hold nothing of the other's.
CUSTOMERS = frozenset({"customer_a", "customer_b"})
SELF_READS: dict[str, frozenset[str]] = {
    "GET /v1/me": AUTHENTICATED,
    "GET /v1/purposes": AUTHENTICATED,
    **{
        f"GET /v1/me/{what}": CUSTOMERS
        for what in (
            "accounts", "consents", "contracts", "customer", "held", "payments", "telemetry",
            "usages", "vehicles",
        )
    },
}  # fmt: skip

# The CarData customer API (x-version v1, A's VIN and container): the callers it answers.
# Only a CarData token opens it (a login token does not); B's client reads nothing of A's.
CARDATA_READS: dict[str, frozenset[str]] = {
    "GET /customers/containers": frozenset({"cardata_a", "cardata_b"}),
    "GET /customers/containers/{containerId}": frozenset({"cardata_a"}),
    "GET /customers/vehicles/mappings": frozenset({"cardata_a", "cardata_b"}),
    "GET /customers/vehicles/{vin}/basicData": frozenset({"cardata_a"}),
    "GET /customers/vehicles/{vin}/telematicData": frozenset({"cardata_a"}),
}
CARDATA = frozenset({"cardata_a", "cardata_b"})
SELF_READS["GET /v1/me/cardata/clients"] = CUSTOMERS
# the rights requests (SPEC R1-R8): the person's own, and the staff who record them (intake)
# and who carry them out, refuse or extend them (deciding), at a controller of the policy
INTAKE = frozenset({"customer_service", "privacy_officer", "service"})
DECIDING = frozenset({"privacy_officer", "service"})
SELF_READS.update(
    {
        f"GET /v1/me/{what}": CUSTOMERS
        for what in ("requests", "access-report", "copy", "rectifications")
    }
)
OPERATOR_READS["GET /v1/requests"] = INTAKE  # the summaries: no request's content
# a person's rectification history: the person and the deciding staff (A's; B is refused)
OPERATOR_READS["GET /v1/subjects/{subject_id}/rectifications"] = frozenset(
    {"customer_a", *DECIDING}
)
SELF_READS["GET /v1/me/cardata/shares"] = CUSTOMERS

# Write routes, sent an empty body: the callers that are not refused (401/403) before the body
# is judged. Any other is refused whatever it sends. AUTHENTICATED rows judge the body first
# and decide who may act on a valid one (POST /v1/decisions is open to every caller by design;
# the review, workshop and override routes check the caller's role after validation, in their
# own tests).
STAFF_WRITERS = frozenset({"admin", "administrator", "customer_service", "service"})
WRITES: dict[str, frozenset[str]] = {
    "DELETE /v1/accounts/{account_id}": STAFF_WRITERS,
    "PATCH /v1/contracts/{contract_id}": STAFF_WRITERS,
    "PATCH /v1/customers/{customer_id}": STAFF_WRITERS,
    "PATCH /v1/vehicles/{vehicle_id}": STAFF_WRITERS,
    "POST /v1/alerts/{alert_id}/ack": frozenset({"privacy_officer"}),
    "POST /v1/audit/checkpoints": frozenset({"admin", "administrator", "privacy_officer"}),
    "POST /v1/automated-decisions": frozenset(
        {
            "admin",
            "administrator",
            "catena_x_partner",
            "insurer_shared",
            "insurer_unshared",
            "service",
        }
    ),
    "POST /v1/automated-decisions/{decision_id}/review-requests": frozenset(
        {"customer_a", "customer_b", "customer_service", "privacy_officer"}
    ),
    "POST /v1/callers": frozenset({"admin", "administrator"}),
    "POST /v1/callers/{caller_id}/disable": frozenset({"admin", "administrator"}),
    "POST /v1/callers/{caller_id}/enable": frozenset({"admin", "administrator"}),
    "POST /v1/callers/{caller_id}/secret": frozenset({"admin", "administrator"}),
    "POST /v1/contracts": STAFF_WRITERS,
    "POST /v1/customers": STAFF_WRITERS,
    "POST /v1/customers/{customer_id}/accounts": STAFF_WRITERS,
    "POST /v1/customers/{customer_id}/erasure": frozenset({"privacy_officer"}),
    "POST /v1/decisions": AUTHENTICATED,
    "POST /v1/fleets": STAFF_WRITERS,
    "POST /v1/payments": STAFF_WRITERS,
    "POST /v1/policy/check": frozenset({"admin"}),
    "POST /v1/review-requests/{review_id}/decision": AUTHENTICATED,
    "POST /v1/subjects/{subject_id}/consents": frozenset({"customer_a"}),
    "POST /v1/subjects/{subject_id}/consents/withdrawals": frozenset({"customer_a"}),
    "POST /v1/subjects/{subject_id}/objections": frozenset({"customer_a"}),
    "POST /v1/subjects/{subject_id}/objections/{objection_id}/withdrawal": frozenset(
        {"customer_a"}
    ),
    "POST /v1/subjects/{subject_id}/overrides": frozenset({"customer_a"}),
    "POST /v1/subjects/{subject_id}/overrides/{override_id}/end": frozenset({"customer_a"}),
    "POST /v1/subjects/{subject_id}/restrictions": frozenset({"customer_a"}),
    "POST /v1/subjects/{subject_id}/restrictions/{restriction_id}/lift": frozenset(),
    "POST /v1/telemetry": frozenset(),
    "POST /v1/vehicles": STAFF_WRITERS,
    "POST /v1/vehicles/{vehicle_id}/usages": STAFF_WRITERS,
    "POST /v1/workshop/telemetry": AUTHENTICATED,
    "POST /v1/me/cardata/clients": CUSTOMERS,
    "DELETE /v1/me/cardata/clients/{client_id}": CUSTOMERS,
    "POST /v1/me/cardata/device-approvals": CUSTOMERS,
    "POST /customers/containers": CARDATA,
    "DELETE /customers/containers/{containerId}": CARDATA,
    "POST /v1/me/requests": CUSTOMERS,
    "POST /v1/requests": INTAKE,
    "POST /v1/requests/{request_id}/email-code": INTAKE,
    "POST /v1/requests/{request_id}/verification": INTAKE,
    "POST /v1/requests/{request_id}/completion": DECIDING,
    "POST /v1/requests/{request_id}/refusal": DECIDING,
    "POST /v1/requests/{request_id}/extension": DECIDING,
    "POST /v1/third-parties": frozenset({"admin", "administrator"}),
    "POST /v1/third-parties/{party_id}/clients": frozenset({"admin", "administrator"}),
    "POST /v1/me/cardata/shares": CUSTOMERS,
    "POST /v1/me/cardata/shares/{share_id}/revocation": CUSTOMERS,
    "POST /v1/me/cardata/share-requests": CUSTOMERS,
    "POST /v1/me/cardata/share-approvals": CUSTOMERS,
    # the catalogue of one vehicle: every caller's body is judged; the gate decides who may
    "POST /v1/cardata/eligibility": AUTHENTICATED,
}

# Routes whose answer depends on an id only the app makes (a decision id): checked for refusal
# of the callers that may not use them, in WRITES or here.
BY_MADE_ID: dict[str, frozenset[str]] = {
    # an unknown decision id: 404 to every caller (a decision's own reader is checked on it)
    "GET /v1/automated-decisions/{decision_id}": AUTHENTICATED,
    # an unknown request id: 404 to the person and to the staff who may read requests
    "GET /v1/me/requests/{request_id}": CUSTOMERS,
    "GET /v1/me/requests/{request_id}/download": CUSTOMERS,
    "GET /v1/requests/{request_id}": INTAKE,
    "GET /v1/requests/{request_id}/download": DECIDING,
    # an unknown share id: 404 to each customer (the owner's reads are in test_cardata_shares)
    "GET /v1/me/cardata/shares/{share_id}": CUSTOMERS,
}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[TestClient, World]]:
    """On SQLite only: what the matrix checks is the API and the gate, not the store (the
    stores' own fidelity is tested on both)."""
    settings = Settings(
        data_dir=tmp_path, admin_token=SecretStr(ADMIN), argon2_time_cost=1, argon2_memory_kib=8
    )
    engine = make_engine(f"sqlite:///{tmp_path / 'matrix.db'}")
    load_all_tables().create_all(engine)
    container = bootstrap(settings, engine=engine)
    with TestClient(create_app(container)) as client:
        yield client, build(container, client)


def _holds_data(r: Any) -> bool:
    """A 2xx that releases something (an empty page or list releases nothing)."""
    if r.status_code >= 300:
        return False
    body = r.json()
    if isinstance(body, dict) and "items" in body:
        return bool(body["items"])
    return bool(body)


def _get(client: TestClient, path: str, ids: dict[str, str], token: str | None, purpose: Any):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    params = {"purpose": purpose} if purpose else {}
    if path.startswith("/customers/"):  # the CarData API: its version header, A's container
        headers["x-version"] = "v1"
        params = {"containerId": ids.get("containerId", "unknown-id")}
    return client.get(walk._url(path, ids), headers=headers, params=params)


def _routes(client: TestClient) -> dict[str, tuple[str, str]]:
    return {k: (m, p) for m, p, k in walk._requests(client.app) if not walk._public_reason(k)}


def test_every_route_has_a_row(world: tuple[TestClient, World]) -> None:
    client, _ = world
    declared = {*READS, *OPERATOR_READS, *SELF_READS, *WRITES, *BY_MADE_ID, *CARDATA_READS}
    routes = set(_routes(client))
    assert routes - declared == set(), "routes without a row in the matrix"
    assert declared - routes == set(), "rows of routes the app no longer has"


def test_reads_release_exactly_what_the_matrix_declares(world: tuple[TestClient, World]) -> None:
    client, w = world
    callers = {"anonymous": None, **w.tokens}
    found: dict[str, dict[str, tuple[str | None, ...]]] = {}
    for key in READS:
        _, path = key.split(" ", 1)
        row = {}
        for label, token in callers.items():
            ok = tuple(p for p in PURPOSES if _holds_data(_get(client, path, w.a, token, p)))
            if ok:
                row[label] = ok
        found[key] = row
    wrong = {k: {"declared": READS[k], "found": found[k]} for k in READS if READS[k] != found[k]}
    assert not wrong, wrong
    for key, allowed in {**OPERATOR_READS, **SELF_READS}.items():
        _, path = key.split(" ", 1)
        answered = {
            label
            for label, token in callers.items()
            if _get(client, path, w.a, token, None).status_code < 300
        }
        assert answered == allowed, key


def test_the_cardata_api_answers_exactly_what_the_matrix_declares(
    world: tuple[TestClient, World],
) -> None:
    """SPEC C2, U1: only CarData tokens open /customers/...; each reads its own person's
    vehicles and containers, never the other's (A's VIN and container answer B's client 404,
    as unknown ones do), and a 2xx answer holds nothing of B's."""
    client, w = world
    callers = {"anonymous": None, **w.tokens}
    b_ids = set(w.b.values()) - {w.b["fleet_id"]}
    for key, allowed in CARDATA_READS.items():
        _, path = key.split(" ", 1)
        answered = set()
        for label, token in callers.items():
            r = _get(client, path, w.a, token, None)
            if r.status_code < 300:
                answered.add(label)
                assert not b_ids & set(_all_ids(r.json())) or label == "cardata_b", key
            else:
                assert "exveErrorId" in r.json(), (key, label, r.text)
        assert answered == allowed, key
        if "{" in path:
            foreign = _get(client, path, w.a, w.tokens["cardata_b"], None)
            unknown = _get(client, path, {}, w.tokens["cardata_b"], None)
            assert foreign.status_code == unknown.status_code == 404, key


def test_no_customer_reads_another_customers_data(world: tuple[TestClient, World]) -> None:
    client, w = world
    b_ids = set(w.b.values()) - {w.b["fleet_id"]}
    for key in READS:
        _, path = key.split(" ", 1)
        for purpose in PURPOSES:
            if "{" in path:  # A's token on B's things
                r = _get(client, path, w.b, w.tokens["customer_a"], purpose)
                assert not _holds_data(r), (key, purpose)
            else:  # A's lists never hold B's things
                r = _get(client, path, w.a, w.tokens["customer_a"], purpose)
                assert not (b_ids & set(_all_ids(r.json() if r.status_code < 300 else {}))), key


def test_what_a_customer_reads_about_itself_holds_nothing_of_the_other(
    world: tuple[TestClient, World],
) -> None:
    client, w = world
    others = {"customer_a": w.b, "customer_b": w.a}
    for key in SELF_READS:
        _, path = key.split(" ", 1)
        for label, other in others.items():
            r = _get(client, path, {}, w.tokens[label], None)
            assert r.status_code == 200, (key, label)
            foreign = set(other.values()) - {other["fleet_id"]}
            assert not foreign & set(_all_ids(r.json())), (key, label)


def _all_ids(body: Any) -> Iterator[str]:
    if isinstance(body, dict):
        for v in body.values():
            yield from _all_ids(v)
    elif isinstance(body, list):
        for v in body:
            yield from _all_ids(v)
    elif isinstance(body, str):
        yield body


def test_an_unknown_id_and_a_forbidden_id_answer_alike(world: tuple[TestClient, World]) -> None:
    client, w = world
    unknown = {k: "0f0f0f0f-unknown-id" for k in w.a}
    oracles = []
    for key in READS:
        _, path = key.split(" ", 1)
        if "{" not in path:
            continue
        for label, token in w.tokens.items():
            for purpose in PURPOSES:
                forbidden = _get(client, path, w.b, token, purpose)
                missing = _get(client, path, unknown, token, purpose)
                assert not _holds_data(missing), (key, label, purpose)
                if forbidden.status_code < 300:
                    continue  # readable: an unknown id may then say it is unknown (404)
                if (forbidden.status_code, forbidden.json()) != (
                    missing.status_code,
                    missing.json(),
                ):
                    oracles.append(f"{key} {label}/{purpose}: {forbidden.text} | {missing.text}")
    assert not oracles, "\n".join(oracles)


def test_list_totals_count_only_what_the_caller_may_read(world: tuple[TestClient, World]) -> None:
    client, w = world
    for key in READS:
        _, path = key.split(" ", 1)
        if "{" in path:
            continue
        for label, token in w.tokens.items():
            for purpose in PURPOSES:
                r = _get(client, path, w.a, token, purpose)
                if r.status_code < 300 and "total" in r.json():
                    body = r.json()
                    assert body["total"] == len(body["items"]), (key, label, purpose, body)


def test_every_write_refuses_the_callers_its_row_does_not_name(
    world: tuple[TestClient, World],
) -> None:
    client, w = world
    routes = _routes(client)
    unknown = {k: "0f0f0f0f-unknown-id" for k in w.a}
    passed: dict[str, frozenset[str]] = {}
    writes = {k for k, (m, _) in routes.items() if m != "GET"} | set(BY_MADE_ID)
    for key in sorted(writes):
        method, path = routes[key]
        through = set()
        for label, token in {"anonymous": None, **w.tokens}.items():
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            body = None if method in ("GET", "DELETE") else {}
            ids = unknown if method == "DELETE" else w.a  # nothing is deleted by the walk
            r = client.request(method, walk._url(path, ids), headers=headers, json=body)
            if r.status_code not in (401, 403):
                through.add(label)
        passed[key] = frozenset(through)
    declared = {**WRITES, **BY_MADE_ID}
    wrong = {
        k: {"declared": sorted(declared.get(k, ())), "found": sorted(v)}
        for k, v in passed.items()
        if v != declared.get(k)
    }
    assert not wrong, wrong
