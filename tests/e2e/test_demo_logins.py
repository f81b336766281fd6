"""The demo shows every form of the gate at once (SPEC U1, U2, R1): ``carprivacy demo load`` makes
a login for every reading role of the policy, and each, logged in with the secret the demo printed,
reads the demo's week of telemetry or its records in the form the notice promises.

On the in-memory composition root (the same wiring as production, real argon2, tokens and
encryption) through HTTP; ``test_cli_db.py`` runs ``demo load`` itself on SQLite.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from carprivacy.bootstrap import Services, utc_now
from carprivacy.domain.access import Role
from carprivacy.entrypoints.api.app import create_app
from carprivacy.services.demo.callers import CALLERS, DemoLogin, load_callers
from carprivacy.services.demo.choices import load_choices
from carprivacy.services.demo.master_data import DemoSummary, load_demo
from carprivacy.services.demo.telemetry import load_week
from carprivacy.testing.bootstrap import bootstrap_in_memory


@pytest.fixture(scope="module")
def demo() -> Iterator[tuple[TestClient, Services, DemoSummary, dict[str, str]]]:
    services = bootstrap_in_memory()
    summary = load_demo(services.master, 2024)
    load_choices(
        services.consent_ledger,
        summary.customer_ids,
        lambda cid: next((v.id for v in services.master.vehicles_of(cid, utc_now())), None),
    )
    values = load_week(services.ingest, services.catalogue, summary.telemetry_vins, utc_now())
    assert values > 10_000
    logins = load_callers(services.callers, summary.customer_ids, summary.fleet_id)
    with TestClient(create_app(services)) as client:
        yield client, services, summary, {x.caller.id: _token(client, x) for x in logins}


def _token(client: TestClient, login: DemoLogin) -> str:
    assert login.secret, login.caller.id  # generated now, shown once
    if login.caller.kind == "person":
        r = client.post("/v1/auth/login", json={"login": login.caller.id, "password": login.secret})
    else:
        form = {"grant_type": "client_credentials", "client_id": login.caller.id}
        r = client.post("/v1/oauth/token", data={**form, "client_secret": login.secret})
    assert r.status_code == 200, (login.caller.id, r.text)
    return str(r.json()["access_token"])


def test_every_reading_role_and_recipient_kind_has_a_demo_login(
    demo: tuple[TestClient, Services, DemoSummary, dict[str, str]],
) -> None:
    _, services, _, tokens = demo
    roles = {Role(c.role) for c in CALLERS}
    assert roles == set(Role) - {Role.VEHICLE}  # vehicles send with their own credential
    recipients = services.policy.recipients_by_id
    kinds = {recipients[c.organisation].kind for c in CALLERS if c.organisation in recipients}
    assert kinds == {r.kind for r in services.policy.recipients}
    assert set(tokens) == {c.id for c in CALLERS}
    # loading again keeps the callers and shows no secret again
    again = load_callers(services.callers, ["x"] * 20, None)
    assert all(x.secret is None for x in again)


def _get(
    client: TestClient, token: str, url: str, purpose: str | None = None, **params: Any
) -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    if purpose:
        headers["X-Purpose"] = purpose
    return client.get(url, headers=headers, params=params)


def _vehicle(summary: DemoSummary, index: int) -> str:
    vin = summary.telemetry_vins[index]
    return next(v for v, x, _, _ in summary.made if x == vin)


def test_each_demo_login_reads_in_its_form(
    demo: tuple[TestClient, Services, DemoSummary, dict[str, str]],
) -> None:
    client, _, s, t = demo
    bought, consented, objected, restricted, driven, fleet_only = (_vehicle(s, i) for i in range(6))
    ids = s.customer_ids
    tel = "/v1/vehicles/{}/telemetry"

    # customers: their own data under /v1/me, identified, without a purpose
    own = _get(client, t["demo-owner"], "/v1/me/telemetry", limit=50).json()["items"]
    assert own and {i["subject_id"] for i in own} == {ids[5]} and own[0]["vehicle_id"] == consented
    held = _get(client, t["demo-former"], "/v1/me/held").json()
    assert held["subject_id"] == ids[0]
    r = _get(client, t["demo-former"], f"/v1/customers/{ids[0]}", "customer_service")
    assert r.status_code == 403 and "contract.required" in r.text  # a former customer ...
    assert _get(client, t["demo-former"], "/v1/me/customer").status_code == 200  # ... keeps Art. 15
    history = _get(client, t["demo-objector"], "/v1/me/consents").json()["entries"]
    assert "objection_made" in {e["kind"] for e in history}
    assert _get(client, t["demo-restricted"], "/v1/me/customer").json()["id"] == ids[7]
    drove = {v["id"] for v in _get(client, t["demo-driver"], "/v1/me/vehicles").json()}
    assert driven in drove

    # staff: identified for their purposes; the restriction stops the desk's use
    r = _get(client, t["demo-desk"], f"/v1/customers/{ids[5]}", "customer_service")
    assert r.status_code == 200 and r.json()["surname"]
    r = _get(client, t["demo-desk"], f"/v1/customers/{ids[7]}", "customer_service")
    assert r.status_code == 403 and "restriction.art18" in r.text
    r = _get(client, t["demo-dpo"], f"/v1/customers/{ids[7]}", "legal_claims")
    assert r.status_code == 200 and r.json()["surname"]  # legal claims: despite the restriction
    r = _get(client, t["demo-authority"], f"/v1/customers/{ids[5]}", "authority_requests")
    assert r.status_code == 200, r.text

    # R&D staff: pseudonymised; the dealer: vehicle-linked, refused after the objection
    r = _get(client, t["demo-rnd"], tel.format(bought), "product_development", limit=20)
    assert r.status_code == 200 and r.json()["items"] and bought not in r.text
    r = _get(client, t["demo-dealer"], tel.format(bought), "after_sales_service", limit=20)
    items = r.json()["items"]
    assert items and all(i["vehicle_id"] == bought and "subject_id" not in i for i in items)
    r = _get(client, t["demo-dealer"], tel.format(objected), "after_sales_service", limit=20)
    assert r.status_code == 403 and "objection.art21" in r.text
    r = _get(client, t["demo-workshop"], f"/v1/vehicles/{bought}", "repair_information")
    assert r.status_code == 200 and r.json()["vin"] == s.telemetry_vins[0]

    # the fleet manager: its fleet's cars only
    r = _get(client, t["demo-fleet"], tel.format(fleet_only), "fleet_operation", limit=20)
    assert r.status_code == 200 and r.json()["items"], r.text
    r = _get(client, t["demo-fleet"], tel.format(bought), "fleet_operation", limit=20)
    assert r.status_code == 403 and "fleet.not_member" in r.text

    # machines: the chosen insurer only with the person's consent; pseudonymised partners
    r = _get(client, t["demo_insurer"], tel.format(consented), "cardata_sharing", limit=20)
    assert r.status_code == 200 and r.json()["items"], r.text
    r = _get(client, t["demo_insurer"], tel.format(restricted), "cardata_sharing", limit=20)
    assert r.status_code == 403 and "consent.required" in r.text
    r = _get(client, t["demo-catena"], f"/v1/vehicles/{bought}", "development_partners")
    assert r.status_code == 200 and r.json()["id"].startswith("ps_")
    r = _get(client, t["demo-geocoder"], f"/v1/customers/{ids[5]}", "geocoding")
    assert r.status_code == 200, r.text

    r = _get(client, t["demo-service"], tel.format(consented), "contract_performance", limit=5)
    assert r.status_code == 200 and r.json()["items"], r.text

    # the administrator reads no personal data: no purpose to use
    assert _get(client, t["demo-admin"], "/v1/purposes").json()["purposes"] == []


def test_a_customer_withdrawing_and_giving_consent_changes_the_answer_at_once(
    demo: tuple[TestClient, Services, DemoSummary, dict[str, str]],
) -> None:
    """The marketing partner reads by e-mail consent (SPEC C1, C4, U2): refused for the customer
    who withdrew, and for the demo owner from the moment they withdraw until they give it again."""
    client, _, s, t = demo
    ids = s.customer_ids
    mail = "marketing_email"
    assert _get(client, t["demo-mailer"], f"/v1/customers/{ids[0]}", mail).status_code == 200
    r = _get(client, t["demo-mailer"], f"/v1/customers/{ids[1]}", mail)
    assert r.status_code == 403 and "consent.withdrawn" in r.text  # customer 2 withdrew
    owner = {"Authorization": f"Bearer {t['demo-owner']}"}
    choice = {"topic": mail, "channel": "portal"}
    consents = f"/v1/subjects/{ids[5]}/consents"
    assert _get(client, t["demo-mailer"], f"/v1/customers/{ids[5]}", mail).status_code == 200
    assert client.post(f"{consents}/withdrawals", json=choice, headers=owner).status_code == 201
    r = _get(client, t["demo-mailer"], f"/v1/customers/{ids[5]}", mail)
    assert r.status_code == 403 and "consent.withdrawn" in r.text
    assert client.post(consents, json=choice, headers=owner).status_code == 201
    assert _get(client, t["demo-mailer"], f"/v1/customers/{ids[5]}", mail).status_code == 200
