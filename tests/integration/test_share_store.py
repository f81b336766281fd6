"""The CarData share store on SQLite and PostgreSQL, and its in-memory fake (SPEC C2; Data Act
Art. 4-6): third parties, share requests and shares round-trip; a state change is recorded once
however many requests race for it, with its history entry; revocations are found by time; the
decision facts read a share as a consent of its one party (``share_consents``)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, delete, update
from sqlalchemy.exc import DBAPIError

from carprivacy.adapters.db.base import load_all_tables
from carprivacy.adapters.db.migrate import upgrade
from carprivacy.adapters.db.repositories.shares import SqlShareRepository, share_consents
from carprivacy.adapters.db.tables.shares import cardata_share_events
from carprivacy.domain.errors import ConflictError
from carprivacy.domain.policy import TransferMechanism
from carprivacy.domain.shares import (
    Share,
    ShareEvent,
    ShareReason,
    ShareRequest,
    ShareState,
    ShareVia,
    ThirdParty,
    as_consent,
)
from carprivacy.testing import InMemoryShareRepository

T0 = datetime(2026, 5, 1, 12, tzinfo=UTC)
THREADS = 8
PARTY = ThirdParty(
    "insurer_a", "Insurer A", "cardata_third_parties", "NL", TransferMechanism.EEA,
    "insurer_group", T0, "admin",
)  # fmt: skip


def _share(n: int, **over: object) -> Share:
    base = Share(
        id=f"s{n}",
        subject_id="subject-1",
        vehicle_id="vehicle-1",
        party="insurer_a",
        purpose="cardata_sharing",
        topic="cardata_sharing",
        agreed_purpose="usage-based insurance",
        descriptors=("Vehicle.TraveledDistance",),
        categories=("vehicle_status", "vehicle_general"),
        withheld=("vehicle_status.battery_voltage", "vehicle_general.model"),
        valid_from=T0,
        valid_until=T0 + timedelta(days=30),
        created_at=T0 + timedelta(seconds=n),
        created_by="eva",
        via=ShareVia.PORTAL,
        state=ShareState.ACTIVE,
        grant_id=f"grant-{n}",
    )
    return replace(base, **over)  # type: ignore[arg-type]


def _created(share: Share) -> ShareEvent:
    return ShareEvent(
        share.id, 1, share.created_at, share.state, "eva", ShareReason.CUSTOMER_CREATED
    )


@pytest.fixture(params=["sql", "memory"])
def store(
    request: pytest.FixtureRequest, engine: Engine
) -> SqlShareRepository | InMemoryShareRepository:
    repo = SqlShareRepository(engine) if request.param == "sql" else InMemoryShareRepository()
    repo.add_party(PARTY)
    return repo


def test_parties_requests_and_shares_round_trip(
    store: SqlShareRepository | InMemoryShareRepository,
) -> None:
    with pytest.raises(ConflictError):
        store.add_party(PARTY)
    assert store.party("insurer_a") == PARTY and store.party("nobody") is None
    assert store.parties() == [PARTY]
    request = ShareRequest(
        "client-1", "insurer_a", "cardata_sharing", "ubi", ("Vehicle.Speed",), 30
    )
    store.add_request(request)
    assert store.request_of("client-1") == request and store.request_of("client-2") is None
    one, two = _share(1), _share(2, vehicle_id="vehicle-2", subject_id="subject-2")
    store.add_share(one, _created(one))
    store.add_share(two, _created(two))
    assert store.share("s1") == one
    assert store.shares(subject_id="subject-1") == [one]
    assert store.shares(party="insurer_a") == [one, two]
    assert store.shares(party="insurer_a", vehicle_id="vehicle-2") == [two]
    assert store.shares(grant_id="grant-2") == [two]
    assert store.events("s1") == [_created(one)]


def test_a_revocation_is_recorded_once_under_concurrent_requests(
    store: SqlShareRepository | InMemoryShareRepository,
) -> None:
    share = _share(1)
    store.add_share(share, _created(share))
    at = T0 + timedelta(hours=1)
    event = ShareEvent("s1", 0, at, ShareState.REVOKED, "eva", ShareReason.CUSTOMER_REVOKED)
    with ThreadPoolExecutor(THREADS) as pool:
        moved = list(
            pool.map(
                lambda _: store.move("s1", ShareState.ACTIVE, event, revoked_at=at), range(THREADS)
            )
        )
    assert moved.count(True) == 1
    found = store.share("s1")
    assert found is not None and found.state is ShareState.REVOKED and found.revoked_at == at
    history = store.events("s1")
    assert [(e.seq, e.state, e.reason) for e in history] == [
        (1, ShareState.ACTIVE, ShareReason.CUSTOMER_CREATED),
        (2, ShareState.REVOKED, ShareReason.CUSTOMER_REVOKED),
    ]
    revoked = store.events_since(datetime(2000, 1, 1, tzinfo=UTC), ShareState.REVOKED)
    assert [(e.share_id, e.state) for e in revoked] == [("s1", ShareState.REVOKED)]
    assert not store.move("s1", ShareState.ACTIVE, event)  # no longer active: nothing recorded
    assert len(store.events("s1")) == 2


def test_the_decision_facts_read_a_share_as_a_consent_of_its_one_party(engine: Engine) -> None:
    repo = SqlShareRepository(engine)
    repo.add_party(PARTY)
    share = _share(1, revoked_at=T0 + timedelta(days=2), state=ShareState.REVOKED)
    repo.add_share(share, _created(share))
    with engine.connect() as conn:
        found = share_consents(conn, ["subject-1", "subject-9"])
    assert found == {"subject-1": [as_consent(share)]}
    record = found["subject-1"][0]
    assert record.party == "insurer_a" and record.vehicle_id == "vehicle-1"
    assert record.withdrawn_at == T0 + timedelta(days=2)  # closed at the revocation
    assert record.scope == frozenset({"vehicle_status", "vehicle_general"})


@pytest.mark.parametrize("schema", ["models", "migrated"])
def test_the_history_is_append_only_in_the_database(empty_engine: Engine, schema: str) -> None:
    """Neither an UPDATE nor a DELETE of a history entry gets through (database triggers), in
    the tables made from the models and in the migrated schema alike."""
    engine = empty_engine
    if schema == "models":
        load_all_tables().create_all(engine)
    else:
        upgrade(engine)
    repo = SqlShareRepository(engine)
    repo.add_party(PARTY)
    share = _share(1)
    repo.add_share(share, _created(share))
    e = cardata_share_events.c
    for statement in (
        update(cardata_share_events).where(e.share_id == "s1").values(actor="someone"),
        delete(cardata_share_events).where(e.share_id == "s1"),
    ):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(statement)
    assert repo.events("s1") == [_created(share)]
