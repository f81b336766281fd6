"""The CarData stream's pure rules (SPEC C2, U1, U2): the broker made to match who may receive
what, the message shape, the connection limit, and ingestion telling the stream only what it
committed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_ingest_service import NOW, T0, VIN, make_world, rec

from carprivacy.domain.cardata_stream import (
    Action,
    Provisioned,
    Step,
    StreamCredential,
    apply,
    message,
    over_limit,
    plan,
    topic,
)
from carprivacy.domain.telemetry import TelemetryRow

USERS = st.sampled_from(["g1", "g2", "g3", "g4"])
VINS = st.frozensets(st.sampled_from(["V1", "V2", "V3"]), max_size=3)
HELD = st.dictionaries(USERS, st.builds(Provisioned, VINS, st.booleans()), max_size=4)
WANTED = st.dictionaries(USERS, VINS.filter(bool), max_size=4)


@given(st.frozensets(USERS), WANTED, HELD)
def test_after_the_plan_the_broker_holds_exactly_the_rules(live, wanted, held) -> None:
    steps = plan(live, wanted, held)
    after = apply(held, steps)
    assert set(after) == set(held) & set(live)  # never created here, expired ones deleted
    for username, state in after.items():
        vins = wanted.get(username, frozenset())
        assert state.vins == vins
        assert state.enabled == bool(vins)  # nothing to receive: may not even connect
    assert plan(live, wanted, after) == []  # one pass is enough: the next changes nothing


@given(st.frozensets(USERS), WANTED, HELD)
def test_a_right_that_ended_always_closes_the_connections(live, wanted, held) -> None:
    """Every VIN taken away comes with a step that closes the account's connections (REVOKE,
    DISABLE or DELETE): no open subscription outlives the right."""
    steps = plan(live, wanted, held)
    closing = {s.username for s in steps if s.action in (Action.REVOKE, Action.DELETE)}
    closing |= {s.username for s in steps if s.action is Action.DISABLE}
    for username, state in held.items():
        lost = state.vins - (wanted.get(username, frozenset()) if username in live else set())
        if lost or username not in live:
            assert username in closing


def test_an_expired_account_is_deleted_and_a_sold_vin_revoked() -> None:
    held = {"g1": Provisioned(frozenset({"V1", "V2"}), True), "g2": Provisioned(frozenset(), True)}
    steps = plan({"g1"}, {"g1": frozenset({"V2"})}, held)
    assert steps == [Step(Action.REVOKE, "g1", ("V1",)), Step(Action.DELETE, "g2")]


def test_the_message_is_the_published_stream_shape() -> None:
    data = {"Vehicle.Speed": {"value": "48.5", "unit": "km/h", "timestamp": "2026-01-01T00:00:00Z"}}
    assert topic("gcid-1", VIN) == f"gcid-1/{VIN}"
    assert json.loads(message(VIN, data)) == {"vin": VIN, "data": data}


@given(st.lists(st.text(min_size=1, max_size=4), unique=True, max_size=8), st.integers(1, 5))
def test_past_the_limit_the_newest_connections_close(ids, limit) -> None:
    closed = over_limit(ids, limit)
    assert closed == ids[limit:]
    assert len(ids) - len(closed) == min(len(ids), limit)


def test_a_credential_is_live_until_its_token_expires() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    c = StreamCredential("g", "eva", "cid", "grant", now + timedelta(hours=1), now)
    assert c.live(now) and not c.live(now + timedelta(hours=1))


def test_ingestion_tells_its_listeners_what_it_committed_and_nothing_else() -> None:
    service, repo, _ = make_world()
    told: list[list[TelemetryRow]] = []

    def listener(rows) -> None:
        assert repo.count() >= len(rows)  # called after the commit: the rows are there
        told.append(list(rows))

    def failing(rows) -> None:
        raise RuntimeError("a listener's own failure")

    service.stored_listeners.extend([failing, listener])
    batch = [rec("Vehicle.TraveledDistance", 1), rec("Vehicle.Unknown.Thing", 1)]
    result = service.ingest(batch, source="http", vehicle_vin=VIN, received_at=NOW)
    assert result.accepted == 1  # the failing listener changed nothing of the answer
    assert [[r.signal for r in rows] for rows in told] == [["Vehicle.TraveledDistance"]]
    # a redelivery stores nothing new: nobody is told
    service.ingest(batch[:1], source="http", vehicle_vin=VIN, received_at=NOW)
    assert len(told) == 1
    # a batch of refused records only: nobody is told
    service.ingest([rec("Vehicle.Speed", "x", T0)], source="http", vehicle_vin=VIN, received_at=NOW)
    assert len(told) == 1


def test_the_broker_notices_that_open_and_close_a_connection_are_read() -> None:
    from carprivacy.adapters.mqtt.stream_connections import notice

    stamp = "1796592082: "
    assert notice(
        stamp + "New client connected from 127.0.0.1:43099 as test-9594 (p5, c1, k30, u'g-1')."
    ) == ("connected", "test-9594", "g-1")
    for line in (
        "Client test-9594 been disconnected by administrative action.",
        "Client test-9594 disconnected.",
        "Client test-9594 closed its connection.",
        "Client test-9594 has exceeded timeout, disconnecting.",
        "Client test-9594 already connected, closing old connection.",
        "Socket error on client test-9594, disconnecting.",
    ):
        assert notice(stamp + line) == ("gone", "test-9594", ""), line
    assert notice(stamp + "New connection from 127.0.0.1:43099 on port 8884.") is None


def test_a_batch_whose_commit_fails_is_told_to_nobody() -> None:
    from carprivacy.domain.errors import StoreUnavailableError

    service, repo, _ = make_world()
    told: list[object] = []
    service.stored_listeners.append(told.append)

    def down(*_args: object, **_kw: object) -> object:
        raise StoreUnavailableError("the database is down")

    repo.store = down  # type: ignore[method-assign]
    with pytest.raises(StoreUnavailableError):
        service.ingest(
            [rec("Vehicle.TraveledDistance", 1)], source="http", vehicle_vin=VIN, received_at=NOW
        )
    assert told == []
