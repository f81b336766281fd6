"""The world of the authorisation matrix: two customers with a vehicle each, and a caller of
every role and partner kind the policy has (SPEC U1, U2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cardata_client import CarDataClient
from fastapi.testclient import TestClient

from carprivacy.bootstrap import Services
from carprivacy.domain.master import (
    AccountKind,
    ContactDetails,
    PaymentMethod,
    PaymentMethodKind,
    UsageKind,
)

ADMIN = "authz-matrix-admin-token-kkkkkkkkkkkk"
PASSWORD = "matrix passphrase 123"
SIGNAL = "Vehicle.TraveledDistance"  # vehicle_status (mileage)


@dataclass(frozen=True)
class World:
    a: dict[str, str]  # ids of customer A's things (customer_id, vehicle_id, ...)
    b: dict[str, str]  # the same for customer B
    tokens: dict[str, str]  # caller label -> bearer token ("anonymous" absent)


def seed_customer(container: Services, n: int, fleet_id: str) -> dict[str, str]:
    svc = container.master
    customer = svc.register_customer(
        ContactDetails(
            f"Matrix{n}", "Max", "Matrixstraat", str(n), "1234 AB", "Utrecht", "NL",
            f"matrix{n}@example.org", "+31600000000",
        )
    )  # fmt: skip
    vehicle = svc.register_vehicle(f"WMWMATR1X0000000{n}", "MINI Cooper SE", "green")
    start = datetime.now(UTC) - timedelta(days=30)
    usage = svc.add_usage(vehicle.id, UsageKind.OWNER, start, customer_id=customer.id)
    if n == 1:  # A's vehicle is in the fleet: the fleet manager's reach
        svc.add_usage(vehicle.id, UsageKind.FLEET, start, fleet_id=fleet_id)
    contract = svc.conclude_contract(customer.id, vehicle.id, start, ["teleservices"])
    now = datetime.now(UTC)
    records = [
        {
            "signal": "Vehicle.TraveledDistance",
            "value": 1000.0 + h,
            "ts": (now - timedelta(hours=h)).isoformat(),
        }
        for h in range(1, 4)
    ]
    stored = container.ingest.ingest(
        records, source="http", vehicle_vin=vehicle.vin, received_at=now
    )
    assert stored.accepted == len(records)
    account = svc.open_account(customer.id, "mini_nl", AccountKind.CUSTOMER, f"matrix-login-{n}")
    method = PaymentMethod(PaymentMethodKind.SEPA_DEBIT, f"NL**MATRIX{n}")
    payment = svc.record_payment(customer.id, 1999, "EUR", start, method, contract.id)
    return {
        "customer_id": customer.id,
        "subject_id": customer.id,
        "vehicle_id": vehicle.id,
        "vin": vehicle.vin,
        "fleet_id": fleet_id,
        "usage_id": usage.id,
        "contract_id": contract.id,
        "account_id": account.id,
        "payment_id": payment.id,
    }


def callers(a: dict[str, str], b: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Every kind of caller: each staff role, both customers, each partner kind, a third party
    with A's CarData share and one without."""
    person, machine = {"kind": "person"}, {"kind": "machine"}
    return {
        "administrator": {**person, "role": "administrator", "organisation": "mini_nl"},
        "privacy_officer": {**person, "role": "privacy_officer", "organisation": "mini_nl"},
        "customer_service": {**person, "role": "customer_service", "organisation": "mini_nl"},
        "authority_liaison": {**person, "role": "authority_liaison", "organisation": "mini_nl"},
        "rnd_analyst": {**person, "role": "rnd_analyst", "organisation": "mini_ag"},
        "dealer": {**person, "role": "dealer", "organisation": "dealers"},
        "fleet_manager": {
            **person,
            "role": "fleet_manager",
            "organisation": "fleet_operators",
            "fleet_id": a["fleet_id"],
        },
        "customer_a": {
            **person,
            "role": "customer",
            "organisation": "mini_nl",
            "subject_id": a["customer_id"],
        },
        "customer_b": {
            **person,
            "role": "customer",
            "organisation": "mini_nl",
            "subject_id": b["customer_id"],
        },
        "service": {**machine, "role": "service", "organisation": "mini_ag"},
        "catena_x_partner": {**machine, "role": "partner", "organisation": "catena_x_partners"},
        # two registered third parties (recipients of their own): A shares with the first only
        "insurer_shared": {**machine, "role": "partner", "organisation": "matrix_insurer_a"},
        "insurer_unshared": {**machine, "role": "partner", "organisation": "matrix_insurer_b"},
    }


def login_all(client: TestClient, specs: dict[str, dict[str, Any]]) -> dict[str, str]:
    admin = {"Authorization": f"Bearer {ADMIN}"}
    tokens = {"admin": ADMIN}
    for label, spec in specs.items():
        body = {"id": f"mx_{label}", "name": label, **spec}
        if spec["kind"] == "person":
            body["password"] = PASSWORD
        else:
            body["generate_secret"] = True
        r = client.post("/v1/callers", json=body, headers=admin)
        assert r.status_code == 201, r.text
        if spec["kind"] == "person":
            t = client.post("/v1/auth/login", json={"login": body["id"], "password": PASSWORD})
        else:
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
    return tokens


def cardata_token(client: TestClient, customer_token: str) -> str:
    """A CarData access token of the customer's own client (the device flow over HTTP)."""
    me = {"Authorization": f"Bearer {customer_token}"}
    made = client.post(
        "/v1/me/cardata/clients",
        json={"name": "matrix", "scopes": ["cardata:api:read", "cardata:streaming:read"]},
        headers=me,
    )
    assert made.status_code == 201, made.text
    cd = CarDataClient(client, made.json()["client_id"], sleep=lambda _: None)
    device = cd.request_device_code()
    approved = client.post(
        "/v1/me/cardata/device-approvals", json={"user_code": device["user_code"]}, headers=me
    )
    assert approved.status_code == 200, approved.text
    return str(cd.poll_for_token(device)["access_token"])


def build(container: Services, client: TestClient) -> World:
    """Seed both customers, register two insurers, log every caller in, and give A's CarData
    share (its vehicle's general data and status) to one insurer.
    Each customer also authorises a CarData client (``cardata_a``, ``cardata_b``), and A's has
    a container (``containerId``)."""
    fleet = container.master.create_fleet("Matrix Fleet B.V.", "NL")
    a, b = seed_customer(container, 1, fleet.id), seed_customer(container, 2, fleet.id)
    for party in ("matrix_insurer_a", "matrix_insurer_b"):
        registered = client.post(
            "/v1/third-parties",
            json={"id": party, "name": party, "country": "NL", "transfer_mechanism": "eea",
                  "undertaking": f"{party}_group"},
            headers={"Authorization": f"Bearer {ADMIN}"},
        )  # fmt: skip
        assert registered.status_code == 201, registered.text
    tokens = login_all(client, callers(a, b))
    tokens["cardata_a"] = cardata_token(client, tokens["customer_a"])
    tokens["cardata_b"] = cardata_token(client, tokens["customer_b"])
    made = client.post(
        "/customers/containers",
        json={"name": "matrix", "purpose": "mileage", "technicalDescriptors": [SIGNAL]},
        headers={"Authorization": f"Bearer {tokens['cardata_a']}", "x-version": "v1"},
    )
    assert made.status_code == 201, made.text
    a["containerId"] = made.json()["containerId"]
    # A's CarData share of the vehicle's general data and status with the first insurer only
    share = client.post(
        "/v1/me/cardata/shares",
        json={
            "vehicle_id": a["vehicle_id"],
            "party": "matrix_insurer_a",
            "agreed_purpose": "usage-based insurance",
            "categories": ["vehicle_general", "vehicle_status"],
        },
        headers={"Authorization": f"Bearer {tokens['customer_a']}"},
    )
    assert share.status_code == 201, share.text
    a["share_id"] = share.json()["share_id"]
    return World(a, b, tokens)
