"""The CarData store on SQLite and PostgreSQL (SPEC C2, U1): every deciding write holds under
concurrent requests, as several API processes would send them: a grant is answered and used
once, a refresh token is used once, and every call is counted exactly once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from carprivacy.adapters.db.repositories.callers import SqlCallerRepository
from carprivacy.adapters.db.repositories.cardata import SqlCarDataRepository
from carprivacy.domain.access import CallerKind, Role
from carprivacy.domain.cardata import (
    CarDataClient,
    Container,
    DeviceGrant,
    GrantStatus,
    RefreshToken,
)
from carprivacy.domain.errors import ConflictError
from carprivacy.services.identity.callers import CallerRecord
from carprivacy.testing import InMemoryFieldCipher

T0 = datetime(2026, 5, 1, 12, tzinfo=UTC)
THREADS = 8


def _grant(n: int, client_id: str = "c1", user: str | None = None) -> DeviceGrant:
    return DeviceGrant(
        f"g{n}", client_id, "eva", f"device{n}", user or f"user{n}", "x" * 43,
        frozenset({"cardata:api:read"}), 5, T0 + timedelta(minutes=10), T0,
    )  # fmt: skip


@pytest.fixture
def store(engine: Engine) -> SqlCarDataRepository:
    callers = SqlCallerRepository(engine, InMemoryFieldCipher(), b"l" * 32)
    callers.add(
        CallerRecord(
            "eva", "Eva", CallerKind.PERSON, Role.CUSTOMER, "mini_nl", frozenset(), T0,
            subject_id="s1",
        )
    )  # fmt: skip
    repo = SqlCarDataRepository(engine)
    repo.add_client(CarDataClient("c1", "eva", "home", frozenset({"cardata:api:read"}), T0))
    return repo


def test_a_grant_is_answered_and_used_once(store: SqlCarDataRepository) -> None:
    store.add_grant(_grant(1))
    with pytest.raises(ConflictError):
        store.add_grant(_grant(2, user="user1"))  # a user code is never given twice
    with ThreadPoolExecutor(THREADS) as pool:
        answered = list(
            pool.map(
                lambda _: store.set_status("g1", GrantStatus.PENDING, GrantStatus.APPROVED, "a1"),
                range(THREADS),
            )
        )
        used = list(
            pool.map(
                lambda _: store.set_status("g1", GrantStatus.APPROVED, GrantStatus.USED),
                range(THREADS),
            )
        )
    assert answered.count(True) == 1 and used.count(True) == 1
    grant = store.grant_by_device_code("device1")
    assert grant is not None and grant.status is GrantStatus.USED and grant.gcid == "a1"
    store.record_poll("g1", T0 + timedelta(seconds=3), 10)
    polled = store.grant("g1")
    assert (
        polled is not None
        and polled.interval == 10
        and polled.last_poll_at == T0 + timedelta(seconds=3)
    )


def test_a_refresh_token_is_used_once(store: SqlCarDataRepository) -> None:
    store.add_refresh_token(RefreshToken("r1", "g1", T0 + timedelta(days=1), T0))
    with ThreadPoolExecutor(THREADS) as pool:
        seen = list(pool.map(lambda _: store.use_refresh_token("r1"), range(THREADS)))
    assert [t is not None and not t.used for t in seen].count(True) == 1
    assert store.use_refresh_token("unknown") is None


def test_every_call_is_counted_once_and_an_old_window_is_forgotten(
    store: SqlCarDataRepository,
) -> None:
    per_thread = 20
    opened_after = T0 - timedelta(days=1)

    def calls(_: int) -> list[int]:
        return [store.count_call(["k", "j"], opened_after, T0)[0][0] for _ in range(per_thread)]

    with ThreadPoolExecutor(THREADS) as pool:
        counts = sorted(c for batch in pool.map(calls, range(THREADS)) for c in batch)
    assert counts == list(range(1, THREADS * per_thread + 1))
    later = T0 + timedelta(days=1, seconds=1)
    assert store.count_call(["k"], later - timedelta(days=1), later) == [(1, later)]
    assert store.count_call(["j"], later - timedelta(days=1), later) == [(1, later)]


def test_deleting_a_client_revokes_its_grants_and_containers_keep_their_state(
    store: SqlCarDataRepository,
) -> None:
    store.add_grant(_grant(3))
    assert [c.id for c in store.clients_of("eva")] == ["c1"]
    assert store.delete_client("c1") and not store.delete_client("c1")
    grant = store.grant("g3")
    assert grant is not None and grant.status is GrantStatus.REVOKED
    store.add_container(Container("k1", "eva", "n", "p", ("Vehicle.Speed",), T0))
    assert store.delete_container("k1") and not store.delete_container("k1")
    (held,) = store.containers_of("eva")
    assert held.deleted and held.descriptors == ("Vehicle.Speed",)
