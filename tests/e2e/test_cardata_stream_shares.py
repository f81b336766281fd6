"""A third party's CarData client on the stream, against a real Mosquitto over TLS with its
dynamic security plugin, on SQLite and PostgreSQL (SPEC C2, U1-U3; notice H; Data Act Art. 5, 6).

An insurer registered by an administrator has a CarData client of its own (api and streaming
scopes); the customer approves its device code for one vehicle (the share: mileage, 30 days).
The insurer's paho client (username its own account id, password its id token) receives the
shared vehicle's mileage and nothing else; after the customer revokes the share, or when the
share's period ends, it is cut off within 5 seconds (disconnected, the VIN off its role, new
connections refused); a second insurer with no share of the vehicle receives nothing of it.
"""

from __future__ import annotations

import json
import queue
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cardata_client import CarDataClient
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine
from stream_support import StreamSubscriber

from carprivacy.bootstrap import bootstrap
from carprivacy.config import Settings
from carprivacy.domain.master import AccountKind, ContactDetails
from carprivacy.domain.vehicle_usage import UsageKind
from carprivacy.entrypoints.api.app import create_app
from carprivacy.services.audit.trail import AuditQuery
from carprivacy.testing import FakeClock
from carprivacy.testing.stream_broker import StreamBrokerInfo

TOKEN = "stream-shares-admin-token-ssssssssssssss"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
VIN = "WMW31DH0402R00288"
OTHER_VIN = "WMW31DH0402R00299"
PASSWORD = "stream shares phrase 1"
MILEAGE = "Vehicle.TraveledDistance"
SPEED = "Vehicle.Speed"
VOLTAGE = "Vehicle.LowVoltageBattery.CurrentVoltage"
CUT_OFF = 5.0  # seconds: a revoked or expired share ends the subscription within this (SPEC C2)


def _contact(name: str) -> ContactDetails:
    return ContactDetails(name, "Eva", "Oudegracht", "1", "3511 AB", "Utrecht", "NL", None, None)


@pytest.fixture
def world(
    engine: Engine, tmp_path: Path, stream_broker: StreamBrokerInfo
) -> Iterator[dict[str, Any]]:
    now = datetime.now(UTC).replace(microsecond=0)
    clock = FakeClock(now)
    settings = Settings(
        data_dir=tmp_path,
        admin_token=SecretStr(TOKEN),
        argon2_time_cost=1,
        argon2_memory_kib=8,
        token_ttl_seconds=86_400,
        cardata_token_ttl_seconds=86_400,
        stream_host=stream_broker.host,
        stream_port=stream_broker.port,
        stream_tls_ca=stream_broker.ca,
        stream_admin_password=SecretStr(stream_broker.admin_password),
        stream_publisher_password=SecretStr(stream_broker.publisher_password),
        stream_reconcile_seconds=0.25,
    )
    services = bootstrap(settings, engine=engine, clock=clock)
    m = services.master
    eva = m.register_customer(_contact("Eva"))
    bob = m.register_customer(_contact("Bob"))
    account = m.open_account(eva.id, "mini_ag", AccountKind.GROUP_LOGIN, "eva-share-login")
    car = m.register_vehicle(VIN, "MINI Cooper SE", "green")
    other = m.register_vehicle(OTHER_VIN, "MINI Countryman", "blue")
    m.add_usage(car.id, UsageKind.OWNER, now - timedelta(days=10), customer_id=eva.id)
    m.add_usage(other.id, UsageKind.OWNER, now - timedelta(days=10), customer_id=bob.id)
    tokens = {
        car.id: services.vehicle_credentials.issue(car.id, VIN).token,
        other.id: services.vehicle_credentials.issue(other.id, OTHER_VIN).token,
    }
    with TestClient(create_app(services)) as client:
        body = {"kind": "person", "organisation": "mini_nl", "password": PASSWORD}
        people = {}
        for cid, subject in (("eva", eva.id), ("bob", bob.id)):
            person = {**body, "id": cid, "name": cid, "role": "customer", "subject_id": subject}
            assert client.post("/v1/callers", json=person, headers=ADMIN).status_code == 201
            login = client.post("/v1/auth/login", json={"login": cid, "password": PASSWORD})
            people[cid] = {"Authorization": f"Bearer {login.json()['access_token']}"}
        for party in ("insurer_a", "insurer_b"):
            _register(client, party)
        w = {
            "client": client,
            "services": services,
            "clock": clock,
            "broker": stream_broker,
            "car": car.id,
            "other": other.id,
            "account": account.id,
            "people": people,
            "vehicles": tokens,
            "subscribers": [],
        }
        try:
            yield w
        finally:
            for s in w["subscribers"]:
                s.close()
    services.close()


def _register(client: TestClient, party: str) -> None:
    r = client.post(
        "/v1/third-parties",
        json={
            "id": party,
            "name": f"Insurer {party[-1].upper()} N.V.",
            "country": "NL",
            "transfer_mechanism": "eea",
            "undertaking": f"{party}_group",
        },
        headers=ADMIN,
    )
    assert r.status_code == 201, r.text
    machine = {
        "id": f"{party}_api",
        "name": f"{party}_api",
        "kind": "machine",
        "role": "partner",
        "organisation": party,
        "generate_secret": True,
    }
    assert client.post("/v1/callers", json=machine, headers=ADMIN).status_code == 201


def party_on_the_stream(
    w: dict[str, Any], party: str, customer: str, vehicle: str, days: int = 30
) -> tuple[CarDataClient, str]:
    """The party's CarData client (api and streaming), its container (mileage, speed), the
    customer's approval of its device code for ``vehicle``; (the client, the share id)."""
    http, clock = w["client"], w["clock"]
    r = http.post(
        f"/v1/third-parties/{party}/clients",
        json={
            "owner_id": f"{party}_api",
            "name": "UBI app",
            "agreed_purpose": "usage-based insurance premium",
            "descriptors": [MILEAGE],
            "days": days,
            "scopes": ["cardata:api:read", "cardata:streaming:read"],
        },
        headers=ADMIN,
    )
    assert r.status_code == 201, r.text
    cd = CarDataClient(
        http, str(r.json()["client_id"]), sleep=lambda s: clock.advance(timedelta(seconds=s))
    )
    device = cd.request_device_code()
    answer = http.post(
        "/v1/me/cardata/share-approvals",
        json={"user_code": device["user_code"], "vehicle_id": vehicle, "approve": True},
        headers=w["people"][customer],
    )
    assert answer.status_code == 200, answer.text
    clock.advance(timedelta(seconds=60))  # the token outlives the share's period by a minute
    cd.poll_for_token(device)
    cd.create_container("ubi", "premium", [MILEAGE, SPEED])
    return cd, str(answer.json()["share"]["share_id"])


def _subscriber(w: dict[str, Any], cd: CarDataClient) -> StreamSubscriber:
    b: StreamBrokerInfo = w["broker"]
    s = StreamSubscriber(b.host, b.port, b.ca, cd.tokens["gcid"], cd.tokens["id_token"])
    w["subscribers"].append(s)
    return s


def _connected(w: dict[str, Any], cd: CarDataClient, timeout: float = 15) -> StreamSubscriber:
    deadline = time.monotonic() + timeout
    while True:
        s = _subscriber(w, cd)
        if s.connect():
            assert s.subscribe(f"{cd.tokens['gcid']}/#") == ["Granted QoS 1"]
            return s
        assert time.monotonic() < deadline, f"the account was not let in: {s.connack}"
        time.sleep(0.2)


def _post(w: dict[str, Any], vehicle: str, values: dict[str, float]) -> None:
    when = (w["clock"]() - timedelta(seconds=5)).isoformat()
    records = [{"signal": k, "value": v, "ts": when} for k, v in values.items()]
    r = w["client"].post(
        "/v1/telemetry",
        content=json.dumps(records).encode(),
        headers={
            "Authorization": f"Bearer {w['vehicles'][vehicle]}",
            "Content-Type": "application/json",
        },
    )
    assert r.status_code in (200, 201, 207), r.text
    assert r.json()["accepted"] == len(records), r.text


def _held(w: dict[str, Any], gcid: str) -> Any:
    return w["services"].cardata_stream.broker.held([gcid]).get(gcid)


def test_the_insurer_receives_only_the_shared_descriptors_on_its_own_account(
    world: dict[str, Any],
) -> None:
    w = world
    cd, _ = party_on_the_stream(w, "insurer_a", "eva", w["car"])
    gcid = cd.tokens["gcid"]
    assert gcid != w["account"]  # not the customer's broker account
    s = _connected(w, cd)
    _post(w, w["car"], {MILEAGE: 12345.0, SPEED: 48.5, VOLTAGE: 12.4})
    topic, body = s.next_message()
    assert topic == f"{gcid}/{VIN}" and body["vin"] == VIN
    assert set(body["data"]) == {MILEAGE}  # speed is in its container but not in the share
    assert body["data"][MILEAGE]["unit"] == "m"
    assert float(body["data"][MILEAGE]["value"]) == 12345.0
    entries = w["services"].audit.find(
        AuditQuery(caller_id="insurer_a_api", purpose="cardata_sharing", limit=100)
    )
    assert any(e.action == "cardata.stream" and e.outcome == "allow" for e in entries)
    # bob's car is shared with nobody: nothing of it
    _post(w, w["other"], {MILEAGE: 999.0})
    with pytest.raises(queue.Empty):
        s.next_message(timeout=1.5)


def test_a_revoked_share_cuts_the_insurer_off_within_5_seconds(world: dict[str, Any]) -> None:
    w = world
    cd, share_id = party_on_the_stream(w, "insurer_a", "eva", w["car"])
    gcid = cd.tokens["gcid"]
    s = _connected(w, cd)
    assert VIN in _held(w, gcid).vins
    started = time.monotonic()
    r = w["client"].post(f"/v1/me/cardata/shares/{share_id}/revocation", headers=w["people"]["eva"])
    assert r.status_code == 200, r.text
    ended = s.wait_disconnected(timeout=3 * CUT_OFF)
    assert ended is not None, "the connection stayed open"
    assert ended - started < CUT_OFF
    held = _held(w, gcid)
    assert held is None or (VIN not in held.vins and not held.enabled)
    assert not _subscriber(w, cd).connect()  # nothing to receive: refused
    _post(w, w["car"], {MILEAGE: 20000.0})
    time.sleep(1)
    assert s.messages.empty()


def test_an_expired_share_cuts_the_insurer_off_within_5_seconds(world: dict[str, Any]) -> None:
    w = world
    cd, _ = party_on_the_stream(w, "insurer_a", "eva", w["car"], days=1)
    s = _connected(w, cd)
    started = time.monotonic()
    # the share's period (a day from its approval) ends; the token (a day from a minute later)
    # is still live
    w["clock"].advance(timedelta(days=1) - timedelta(seconds=30))
    ended = s.wait_disconnected(timeout=3 * CUT_OFF)
    assert ended is not None, "the connection stayed open"
    assert ended - started < CUT_OFF
    assert not _subscriber(w, cd).connect()


def test_an_insurer_without_a_share_of_the_vehicle_receives_nothing_of_it(
    world: dict[str, Any],
) -> None:
    w = world
    a, _ = party_on_the_stream(w, "insurer_a", "eva", w["car"])
    b, _ = party_on_the_stream(w, "insurer_b", "bob", w["other"])  # bob's car only
    assert a.tokens["gcid"] != b.tokens["gcid"]
    sb = _connected(w, b)
    assert VIN not in _held(w, b.tokens["gcid"]).vins
    # the broker refuses insurer B another account's topics
    assert sb.subscribe(f"{a.tokens['gcid']}/#") != ["Granted QoS 1"]
    _post(w, w["car"], {MILEAGE: 31000.0})
    with pytest.raises(queue.Empty):
        sb.next_message(timeout=1.5)
    _post(w, w["other"], {MILEAGE: 5000.0})
    topic, body = sb.next_message()
    assert topic == f"{b.tokens['gcid']}/{OTHER_VIN}" and set(body["data"]) == {MILEAGE}
