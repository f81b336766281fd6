"""CarDataStream on in-memory fakes (SPEC C2, U1, U2): a token issued becomes the account's
password, and each reconciler pass makes the broker match what the one entitlement function
answers now: an expired token deleted, a right ended closing the connections."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any

from carprivacy.domain.cardata_stream import StreamCredential, StreamEntitlement
from carprivacy.services.cardata.stream import CarDataStream
from carprivacy.services.cardata.stream_entitlements import combined
from carprivacy.testing import (
    FakeClock,
    InMemoryStreamBroker,
    InMemoryStreamConnectionLimit,
    InMemoryStreamCredentialRepository,
    InMemoryStreamOutlet,
)

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def entitled(username: str, vin: str) -> StreamEntitlement:
    return StreamEntitlement(username, vin, f"veh-{vin}", "subject", ("Vehicle.Speed",), "grant")


class Rules:
    """What may be received, as a test sets it (the shape every entitlement source answers)."""

    def __init__(self) -> None:
        self.now: list[StreamEntitlement] = []

    def __call__(
        self, _now: datetime, vehicle_ids: Collection[str] | None = None
    ) -> list[StreamEntitlement]:
        return [e for e in self.now if vehicle_ids is None or e.vehicle_id in vehicle_ids]


def world() -> tuple[CarDataStream, Rules, InMemoryStreamBroker, FakeClock]:
    clock = FakeClock(T0)
    rules = Rules()
    broker = InMemoryStreamBroker()
    stream = CarDataStream(
        InMemoryStreamCredentialRepository(),
        rules,
        telemetry=Any,  # type: ignore[arg-type]  # not read: nothing is published here
        broker=broker,
        outlet=InMemoryStreamOutlet(),
        clock=clock,
        connection_limit=InMemoryStreamConnectionLimit(),
    )
    return stream, rules, broker, clock


def credential(gcid: str = "g-1", grant: str = "grant-1") -> StreamCredential:
    return StreamCredential(gcid, "eva", "client-1", grant, T0 + timedelta(hours=1), T0)


def test_a_token_with_nothing_to_receive_is_refused_until_the_rules_allow_it() -> None:
    stream, rules, broker, _ = world()
    stream.issued(credential(), "id-token-1")
    assert not broker.accepts("g-1", "id-token-1")  # no consent, container or car yet
    rules.now = [entitled("g-1", "V1")]
    stream.reconcile()
    assert broker.accepts("g-1", "id-token-1")
    assert broker.accounts["g-1"].vins == {"V1"}
    assert stream.reconcile() == []  # in step: nothing to do


def test_a_refresh_replaces_the_password_and_closes_the_old_connections() -> None:
    stream, rules, broker, _ = world()
    rules.now = [entitled("g-1", "V1")]
    stream.issued(credential(), "id-token-1")
    stream.reconcile()
    stream.issued(credential(grant="grant-1"), "id-token-2")
    assert broker.closed["g-1"] == 1  # the refresh keeps what it may receive: no pass needed
    assert broker.accepts("g-1", "id-token-2") and not broker.accepts("g-1", "id-token-1")


def test_each_ended_right_closes_the_connections_at_the_next_pass() -> None:
    stream, rules, broker, clock = world()
    rules.now = [entitled("g-1", "V1"), entitled("g-1", "V2")]
    stream.issued(credential(), "tok")
    stream.reconcile()
    rules.now = [entitled("g-1", "V2")]  # V1 sold
    stream.reconcile()
    assert broker.accounts["g-1"].vins == {"V2"} and broker.closed["g-1"] == 1
    rules.now = []  # the consent withdrawn
    stream.reconcile()
    assert not broker.accepts("g-1", "tok") and broker.closed["g-1"] == 2
    rules.now = [entitled("g-1", "V2")]  # given again: the same token works again
    stream.reconcile()
    assert broker.accepts("g-1", "tok")
    clock.advance(timedelta(hours=1))  # the token expires
    stream.reconcile()
    assert "g-1" not in broker.accounts and "g-1" not in broker.passwords


def test_accounts_the_store_does_not_know_are_left_alone() -> None:
    """A broker shared with another deployment: only this store's accounts are reconciled."""
    stream, rules, broker, _ = world()
    broker.provision("someone-elses", "their-token", ["V9"])
    stream.reconcile()
    assert broker.accepts("someone-elses", "their-token")


def test_a_second_source_of_rights_is_enforced_alike() -> None:
    own, shares = Rules(), Rules()
    both = combined(own, shares)
    own.now = [entitled("g-1", "V1")]
    shares.now = [entitled("insurer-1", "V1")]
    assert {e.username for e in both(T0, None)} == {"g-1", "insurer-1"}
    assert both(T0, {"veh-V2"}) == []


def test_the_server_starts_and_stops_the_connection_limit() -> None:
    stream, _, broker, _ = world()
    limit = stream.connection_limit
    assert isinstance(limit, InMemoryStreamConnectionLimit)
    stream.reconcile_every = 0.01
    stream.start()
    assert limit.running
    stream.stop()
    assert not limit.running and broker.ready


def test_when_the_rights_cannot_be_read_the_stream_fails_closed() -> None:
    stream, rules, broker, _ = world()
    rules.now = [entitled("g-1", "V1")]
    stream.issued(credential(), "tok")
    stream.reconcile()
    assert broker.accepts("g-1", "tok")

    def broken(_now: datetime, _vehicles: Collection[str] | None = None) -> list[StreamEntitlement]:
        raise RuntimeError("the database is away")

    stream.entitlements = broken
    stream.reconcile()
    assert not broker.accepts("g-1", "tok")  # no answer, no right
    stream.entitlements = rules
    stream.reconcile()
    assert broker.accepts("g-1", "tok")  # back with the rules
