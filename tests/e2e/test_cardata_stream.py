"""The CarData stream against a real Mosquitto over TLS with its dynamic security plugin, on
SQLite and PostgreSQL (SPEC C2, U1-U3; notice section H).

A client written for the published description (paho, username the gcid, password the id
token) receives, after a telemetry POST is stored, a message on ``{gcid}/{vin}`` holding only
its containers' descriptors; the broker refuses a subscription to another account's topics and
a wrong or expired token; two connections of one account both receive; a withdrawn consent, an
expired token, a revoked grant and an owner change close the connection within 5 seconds.
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
from tests.conftest import ProjectBroker
from tests.integration.mqtt_support import Publisher, base_config, running_worker, unique

from carprivacy.bootstrap import bootstrap
from carprivacy.config import Settings
from carprivacy.domain.master import AccountKind, ContactDetails
from carprivacy.domain.vehicle_usage import UsageKind
from carprivacy.entrypoints.api.app import create_app
from carprivacy.services.audit.trail import AuditQuery
from carprivacy.testing import FakeClock
from carprivacy.testing.stream_broker import StreamBrokerInfo

TOKEN = "stream-admin-token-sssssssssssssssssssss"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
VIN = "WMW31DH0402R00188"
PASSWORD = "stream passphrase 1"
MILEAGE = "Vehicle.TraveledDistance"
SPEED = "Vehicle.Speed"
VOLTAGE = "Vehicle.LowVoltageBattery.CurrentVoltage"
CUT_OFF = 5.0  # seconds: an ended right ends the subscription within this (SPEC C2)


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
        stream_host=stream_broker.host,
        stream_port=stream_broker.port,
        stream_tls_ca=stream_broker.ca,
        stream_admin_password=SecretStr(stream_broker.admin_password),
        stream_publisher_password=SecretStr(stream_broker.publisher_password),
        stream_reconcile_seconds=0.25,
        stream_connections_per_account=2,
    )
    services = bootstrap(settings, engine=engine, clock=clock)
    m = services.master
    eva = m.register_customer(_contact("Eva"))
    bob = m.register_customer(_contact("Bob"))
    account = m.open_account(eva.id, "mini_ag", AccountKind.GROUP_LOGIN, "eva-login")
    car = m.register_vehicle(VIN, "MINI Cooper SE", "green")
    m.add_usage(car.id, UsageKind.OWNER, now - timedelta(days=10), customer_id=eva.id)
    vehicle_token = services.vehicle_credentials.issue(car.id, VIN).token
    with TestClient(create_app(services)) as client:
        body = {"kind": "person", "organisation": "mini_nl", "password": PASSWORD}
        for cid, subject in (("eva", eva.id), ("bob", bob.id)):
            person = {**body, "id": cid, "name": cid, "role": "customer", "subject_id": subject}
            assert client.post("/v1/callers", json=person, headers=ADMIN).status_code == 201
        login = client.post("/v1/auth/login", json={"login": "eva", "password": PASSWORD})
        w = {
            "client": client,
            "services": services,
            "clock": clock,
            "broker": stream_broker,
            "eva": eva.id,
            "bob": bob.id,
            "car": car.id,
            "gcid": account.id,
            "me": {"Authorization": f"Bearer {login.json()['access_token']}"},
            "vehicle": {"Authorization": f"Bearer {vehicle_token}"},
            "subscribers": [],
        }
        try:
            yield w
        finally:
            for s in w["subscribers"]:
                s.close()
    services.close()


def _authorised(w: dict[str, Any]) -> tuple[CarDataClient, str]:
    """A published-API client through the device flow, with a container and the person's
    consent to pass its data to that client id; (the client, the client id)."""
    http, clock = w["client"], w["clock"]
    r = http.post(
        "/v1/me/cardata/clients",
        json={"name": "home", "scopes": ["cardata:api:read", "cardata:streaming:read"]},
        headers=w["me"],
    )
    assert r.status_code == 201, r.text
    client_id = str(r.json()["client_id"])
    device: dict[str, Any] = {}

    def sleep(seconds: float) -> None:
        clock.advance(timedelta(seconds=seconds))
        if "approved" not in device:
            device["approved"] = http.post(
                "/v1/me/cardata/device-approvals",
                json={"user_code": device["user_code"]},
                headers=w["me"],
            ).status_code

    cd = CarDataClient(http, client_id, sleep=sleep)
    device.update(cd.request_device_code())
    cd.poll_for_token(device)
    cd.create_container("stream", "dashboard", [MILEAGE, SPEED])
    _consent(w, client_id)
    return cd, client_id


def _consent(w: dict[str, Any], client_id: str, withdraw: bool = False) -> None:
    path = f"/v1/subjects/{w['eva']}/consents" + ("/withdrawals" if withdraw else "")
    body = {"topic": "cardata_sharing", "channel": "app", "party": client_id}
    r = w["client"].post(path, json=body, headers=w["me"])
    assert r.status_code == 201, r.text


def _subscriber(w: dict[str, Any], password: str, username: str | None = None) -> StreamSubscriber:
    b: StreamBrokerInfo = w["broker"]
    s = StreamSubscriber(b.host, b.port, b.ca, username or w["gcid"], password)
    w["subscribers"].append(s)
    return s


def _connected(w: dict[str, Any], password: str, timeout: float = 15) -> StreamSubscriber:
    """A subscriber of the account's topics, once the reconciler let the account in."""
    deadline = time.monotonic() + timeout
    while True:
        s = _subscriber(w, password)
        if s.connect():
            assert s.subscribe(f"{w['gcid']}/#") == ["Granted QoS 1"]
            return s
        assert time.monotonic() < deadline, f"the account was not let in: {s.connack}"
        time.sleep(0.2)


def _post(w: dict[str, Any], values: dict[str, float], at: datetime | None = None) -> None:
    when = (at or w["clock"]() - timedelta(seconds=5)).isoformat()
    records = [{"signal": k, "value": v, "ts": when} for k, v in values.items()]
    r = w["client"].post(
        "/v1/telemetry",
        content=json.dumps(records).encode(),
        headers={**w["vehicle"], "Content-Type": "application/json"},
    )
    assert r.status_code in (200, 201, 207), r.text
    assert r.json()["accepted"] == len(records), r.text


def _measure_cut_off(s: StreamSubscriber, started: float) -> float:
    ended = s.wait_disconnected(timeout=3 * CUT_OFF)
    assert ended is not None, "the connection stayed open"
    return ended - started


def test_a_stored_post_reaches_the_client_with_only_its_descriptors(world: dict[str, Any]) -> None:
    w = world
    cd, client_id = _authorised(w)
    gcid, id_token = w["gcid"], cd.tokens["id_token"]
    assert cd.tokens["gcid"] == gcid
    s = _connected(w, id_token)
    _post(w, {MILEAGE: 12345.0, SPEED: 48.5, VOLTAGE: 12.4})
    topic, body = s.next_message()
    assert topic == f"{gcid}/{VIN}"
    assert body["vin"] == VIN
    assert set(body["data"]) == {MILEAGE, SPEED}  # the voltage is in no container
    assert body["data"][MILEAGE]["unit"] == "m"
    assert float(body["data"][SPEED]["value"]) == 48.5
    assert body["data"][MILEAGE]["timestamp"].endswith("Z")
    # each published value was released, and recorded, by the gate under the CarData purpose
    entries = w["services"].audit.find(
        AuditQuery(caller_id=client_id, purpose="cardata_sharing", limit=100)
    )
    assert entries and all(e.outcome == "allow" for e in entries)
    assert {e.action for e in entries} == {"cardata.stream"}


def test_the_broker_refuses_other_topics_and_wrong_tokens(world: dict[str, Any]) -> None:
    w = world
    cd, _ = _authorised(w)
    s = _connected(w, cd.tokens["id_token"])
    assert s.subscribe("someone-else/#") == ["Not authorized"]
    assert s.subscribe(f"+/{VIN}") == ["Not authorized"]
    assert s.subscribe("#") == ["Not authorized"]
    wrong = _subscriber(w, cd.tokens["id_token"][:-4] + "AAAA")
    assert not wrong.connect()
    assert "Not authorized" in str(wrong.connack) or "Bad user name" in str(wrong.connack)
    other = _subscriber(w, cd.tokens["id_token"], username="someone-else")
    assert not other.connect()
    access = _subscriber(w, cd.tokens["access_token"])  # the access token is not the password
    assert not access.connect()


def test_two_connections_of_one_account_both_receive(world: dict[str, Any]) -> None:
    w = world
    cd, _ = _authorised(w)
    first = _connected(w, cd.tokens["id_token"])
    second = _connected(w, cd.tokens["id_token"])
    _post(w, {MILEAGE: 20000.0})
    for s in (first, second):
        topic, body = s.next_message()
        assert topic == f"{w['gcid']}/{VIN}" and set(body["data"]) == {MILEAGE}


def test_a_connection_past_the_accounts_limit_is_closed(world: dict[str, Any]) -> None:
    w = world
    cd, _ = _authorised(w)
    first = _connected(w, cd.tokens["id_token"])
    second = _connected(w, cd.tokens["id_token"])
    third = _subscriber(w, cd.tokens["id_token"])
    third.connect()
    assert third.wait_disconnected(timeout=10) is not None  # past the limit of 2
    _post(w, {SPEED: 77.0})
    for s in (first, second):  # the two within the limit stay and receive
        assert set(s.next_message()[1]["data"]) == {SPEED}
    assert first.disconnected_at is None and second.disconnected_at is None


def test_withdrawing_the_consent_cuts_the_stream_off_within_5_seconds(
    world: dict[str, Any],
) -> None:
    w = world
    cd, client_id = _authorised(w)
    s = _connected(w, cd.tokens["id_token"])
    started = time.monotonic()
    _consent(w, client_id, withdraw=True)
    w["clock"].advance(timedelta(seconds=1))  # time goes on (the withdrawal counts from its moment)
    assert _measure_cut_off(s, started) < CUT_OFF
    again = _subscriber(w, cd.tokens["id_token"])
    assert not again.connect()  # disabled while nothing may be received
    _post(w, {MILEAGE: 30000.0})  # stored, and published to nobody
    time.sleep(1)
    assert s.messages.empty()


def test_an_expired_token_cuts_the_stream_off_and_is_refused(world: dict[str, Any]) -> None:
    w = world
    cd, _ = _authorised(w)
    s = _connected(w, cd.tokens["id_token"])
    started = time.monotonic()
    w["clock"].advance(timedelta(seconds=int(cd.tokens["expires_in"]) + 1))
    assert _measure_cut_off(s, started) < CUT_OFF
    assert not _subscriber(w, cd.tokens["id_token"]).connect()


def test_an_owner_change_cuts_the_stream_off_within_5_seconds(world: dict[str, Any]) -> None:
    w = world
    cd, _ = _authorised(w)
    s = _connected(w, cd.tokens["id_token"])
    started = time.monotonic()
    sold = w["clock"]() - timedelta(seconds=1)
    w["services"].master.add_usage(w["car"], UsageKind.OWNER, sold, customer_id=w["bob"])
    assert _measure_cut_off(s, started) < CUT_OFF
    _post(w, {MILEAGE: 40000.0})  # the new owner's data
    with pytest.raises(queue.Empty):
        s.next_message(timeout=1)


def test_deleting_the_client_revokes_its_grant_and_cuts_off(world: dict[str, Any]) -> None:
    w = world
    cd, client_id = _authorised(w)
    s = _connected(w, cd.tokens["id_token"])
    started = time.monotonic()
    r = w["client"].delete(f"/v1/me/cardata/clients/{client_id}", headers=w["me"])
    assert r.status_code == 204, r.text
    assert _measure_cut_off(s, started) < CUT_OFF
    assert not _subscriber(w, cd.tokens["id_token"]).connect()


def test_a_refresh_makes_the_new_id_token_the_password(world: dict[str, Any]) -> None:
    w = world
    cd, _ = _authorised(w)
    old = cd.tokens["id_token"]
    s = _connected(w, old)
    w["clock"].advance(timedelta(seconds=1))  # a new token differs from the old in its times
    cd.refresh()
    assert cd.tokens["id_token"] != old
    assert s.wait_disconnected(timeout=CUT_OFF) is not None  # the old token is no longer current
    assert not _subscriber(w, old).connect()
    fresh = _connected(w, cd.tokens["id_token"])
    _post(w, {SPEED: 10.0})
    assert set(fresh.next_message()[1]["data"]) == {SPEED}


def test_values_ingested_from_any_transport_are_streamed_once_stored(
    world: dict[str, Any],
) -> None:
    """The hook is ingestion's, not the HTTP route's: the MQTT worker's batches (``source`` mqtt)
    reach the stream the same way, and a redelivery that stores nothing publishes nothing."""
    w = world
    cd, _ = _authorised(w)
    s = _connected(w, cd.tokens["id_token"])
    when = (w["clock"]() - timedelta(seconds=3)).isoformat()
    records = [{"signal": MILEAGE, "value": 555.0, "ts": when}]
    ingest = w["services"].ingest
    stored = ingest.ingest(records, source="mqtt", vehicle_vin=VIN, received_at=w["clock"]())
    assert stored.accepted == 1
    topic, body = s.next_message()
    assert topic == f"{w['gcid']}/{VIN}" and float(body["data"][MILEAGE]["value"]) == 555.0
    again = ingest.ingest(records, source="mqtt", vehicle_vin=VIN, received_at=w["clock"]())
    assert again.duplicates == 1
    with pytest.raises(queue.Empty):
        s.next_message(timeout=1)


def test_a_car_publishing_over_mqtt_reaches_the_stream_after_the_worker_stored_it(
    world: dict[str, Any], project_broker: ProjectBroker
) -> None:
    """Car -> the vehicles' broker -> the ingest worker (commit, then PUBACK) -> the stream."""
    w = world
    cd, _ = _authorised(w)
    s = _connected(w, cd.tokens["id_token"])
    base = unique("stream")
    config = base_config(project_broker.host, project_broker.port, base)
    with running_worker(config, w["services"].ingest):
        car = Publisher(project_broker.host, project_broker.port)
        when = (w["clock"]() - timedelta(seconds=2)).isoformat()
        body = json.dumps([{"signal": SPEED, "value": 61.0, "ts": when}])
        car.publish(f"{base}/{VIN}/telemetry", body).wait_for_publish(10)
        topic, message = s.next_message(timeout=20)
        car.client.disconnect()
        car.client.loop_stop()
    assert topic == f"{w['gcid']}/{VIN}"
    assert set(message["data"]) == {SPEED} and float(message["data"][SPEED]["value"]) == 61.0


def test_a_batch_without_the_containers_descriptors_publishes_nothing(
    world: dict[str, Any],
) -> None:
    w = world
    cd, _ = _authorised(w)
    s = _connected(w, cd.tokens["id_token"])
    _post(w, {VOLTAGE: 12.1})  # in no container
    with pytest.raises(queue.Empty):
        s.next_message(timeout=1)
    _post(w, {MILEAGE: 7.0})  # and the stream goes on
    assert set(s.next_message()[1]["data"]) == {MILEAGE}
    assert w["services"].cardata_stream.counters.failed == 0
