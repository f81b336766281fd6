"""Password login throttling lives in the store, on both databases (SPEC U1, U3): two services
over one database (two API processes) count the same attempts, concurrent guesses cannot run past
the limit, and the store keeps a keyed hash of the login name, never the name."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from tests.conftest import POLICY_PATH

from carprivacy.adapters.crypto.passwords import Argon2PasswordHasher
from carprivacy.adapters.crypto.tokens import JwtTokenSigner
from carprivacy.adapters.db.repositories.callers import SqlCallerRepository
from carprivacy.adapters.db.tables.access import login_attempts
from carprivacy.adapters.policy.loader import load_policy_file
from carprivacy.domain.errors import AuthenticationError
from carprivacy.services.identity.callers import CallerService, CallerSettings
from carprivacy.testing.callers import InMemoryEmailOutbox
from carprivacy.testing.crypto import InMemoryFieldCipher

POLICY = load_policy_file(POLICY_PATH)
START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


class Clock:
    at = START

    def __call__(self) -> datetime:
        return self.at


def service(engine: Engine, clock: Clock) -> CallerService:
    """One API process's caller service: its own repository object, the shared database."""
    return CallerService(
        SqlCallerRepository(engine, InMemoryFieldCipher(), b"l" * 32),
        POLICY,
        InMemoryEmailOutbox(),
        b"k" * 32,
        clock,
        CallerSettings(),
        passwords=Argon2PasswordHasher(time_cost=1, memory_kib=8),
        tokens=JwtTokenSigner(b"k" * 32),
    )


@pytest.fixture
def two(engine: Engine) -> tuple[CallerService, CallerService, Clock]:
    clock = Clock()
    first, second = service(engine, clock), service(engine, clock)
    first.create(
        name="PO",
        kind="person",
        role="privacy_officer",
        organisation="mini_nl",
        caller_id="po",
        email="po@example.org",
        password="the right passphrase",
    )
    return first, second, clock


def test_failures_spread_over_two_processes_pause_the_name(
    two: tuple[CallerService, CallerService, Clock],
) -> None:
    first, second, clock = two
    for i in range(10):
        with pytest.raises(AuthenticationError, match="not valid"):
            (first if i % 2 else second).login_password("po@example.org", f"guess {i}")
    for svc in (first, second):
        with pytest.raises(AuthenticationError, match="too many"):
            svc.login_password("po@example.org", "the right passphrase")
    clock.at += timedelta(minutes=5)
    assert second.login_password("po@example.org", "the right passphrase").access_token
    # the success cleared the window for both
    with pytest.raises(AuthenticationError, match="not valid"):
        first.login_password("po@example.org", "guess again")
    assert first.login_password("po@example.org", "the right passphrase").access_token


def test_concurrent_guesses_cannot_run_past_the_limit(
    two: tuple[CallerService, CallerService, Clock],
) -> None:
    first, second, _ = two

    def guess(i: int) -> str:
        try:
            (first if i % 2 else second).login_password("po", f"guess {i}")
        except AuthenticationError as exc:
            return "paused" if "too many" in str(exc) else "checked"
        return "in"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(guess, range(40)))
    assert outcomes.count("checked") == 10  # exactly the limit reached the password check
    assert outcomes.count("paused") == 30


def test_the_store_holds_no_login_name_and_forgets_windows_that_are_over(
    two: tuple[CallerService, CallerService, Clock], engine: Engine
) -> None:
    first, second, clock = two
    for i in range(5):
        with pytest.raises(AuthenticationError):
            first.login_password(f"stranger-{i}@example.org", "guess")
    with engine.connect() as conn:
        keys = conn.execute(select(login_attempts.c.login_key)).scalars().all()
    assert len(keys) == 5 and not any("stranger" in k or "example" in k for k in keys)
    clock.at += timedelta(minutes=5)
    with pytest.raises(AuthenticationError, match="not valid"):
        second.login_password("po", "guess")
    with engine.connect() as conn:
        assert len(conn.execute(select(login_attempts.c.login_key)).all()) == 1
