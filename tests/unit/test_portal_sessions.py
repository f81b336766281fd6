"""Portal sessions (SPEC U1): signed, expiring tokens; altered, foreign or expired ones open to
nothing; the login goes through the caller service (its throttle); a session is renewed while it
is used and ends at its absolute limit; the CSRF token is the session's own."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carprivacy.config import Settings
from carprivacy.domain.errors import AuthenticationError
from carprivacy.services.identity.portal_sessions import PortalSessions
from carprivacy.testing import bootstrap_in_memory

PASSWORD = "correct horse battery"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def world() -> tuple[PortalSessions, Clock]:
    clock = Clock()
    settings = Settings(
        data_dir=Path("/nonexistent/portal"),
        argon2_time_cost=1,
        argon2_memory_kib=8,
        token_ttl_seconds=900,
        portal_session_max_seconds=3600,
    )
    services = bootstrap_in_memory(settings, clock=clock)
    services.callers.create(
        name="Eva",
        kind="person",
        role="customer",
        organisation="mini_nl",
        subject_id="subject-1",
        password=PASSWORD,
        caller_id="eva",
    )
    return services.portal_sessions, clock


def test_a_login_opens_a_session_whose_caller_is_the_apis(
    world: tuple[PortalSessions, Clock],
) -> None:
    sessions, _ = world
    anonymous = sessions.anonymous()
    started = sessions.login("eva", PASSWORD)
    assert started.sid != anonymous.sid  # a new id at login: no session fixation
    opened = sessions.open(sessions.seal(started))
    assert opened == started
    caller, kept = sessions.caller(opened)
    assert caller.id == "eva" and caller.subject_id == "subject-1" and kept == started
    assert sessions.csrf_token(started) != sessions.csrf_token(anonymous)
    assert sessions.csrf_valid(started, sessions.csrf_token(started))
    assert not sessions.csrf_valid(started, sessions.csrf_token(anonymous))
    assert not sessions.csrf_valid(None, sessions.csrf_token(started))
    assert not sessions.csrf_valid(started, None)


def test_an_altered_or_foreign_token_opens_nothing(world: tuple[PortalSessions, Clock]) -> None:
    sessions, clock = world
    token = sessions.seal(sessions.login("eva", PASSWORD))
    head, _, mac = token.rpartition(".")
    assert sessions.open(head + "." + mac[::-1]) is None
    assert sessions.open(head[:-2] + "AA." + mac) is None
    other = PortalSessions(b"k" * 32, sessions.callers, clock)
    assert other.open(token) is None
    assert sessions.open(None) is None and sessions.open("") is None


@given(st.text(max_size=300))
def test_no_text_opens_a_session_or_raises(text: str) -> None:
    sessions = PortalSessions(b"x" * 32, None, lambda: datetime.now(UTC))  # type: ignore[arg-type]
    assert sessions.open(text) is None
    assert sessions.open("s1." + text) is None
    assert not sessions.csrf_valid(sessions.anonymous(), text)


def test_a_session_is_renewed_while_used_and_ends_at_its_limits(
    world: tuple[PortalSessions, Clock],
) -> None:
    sessions, clock = world
    started = sessions.login("eva", PASSWORD)
    clock.now += timedelta(minutes=10)  # past half the bearer token's 15 minutes
    _, renewed = sessions.caller(started)
    assert renewed.access != started.access and renewed.expires > started.expires
    assert renewed.sid == started.sid  # the same session, its forms still valid
    clock.now += timedelta(minutes=16)  # idle longer than the token lives: it ended
    assert sessions.open(sessions.seal(renewed)) is None
    with pytest.raises(AuthenticationError):
        sessions.caller(renewed)
    # used all along, it still ends an hour (portal_session_max_seconds) after the login
    current = sessions.login("eva", PASSWORD)
    for _ in range(12):
        clock.now += timedelta(minutes=8)
        token = sessions.open(sessions.seal(current))
        if token is None:
            break
        _, current = sessions.caller(token)
        assert current.expires <= current.login_at + 3600
    assert sessions.open(sessions.seal(current)) is None


def test_a_disabled_caller_loses_the_session_at_once(world: tuple[PortalSessions, Clock]) -> None:
    sessions, _ = world
    started = sessions.login("eva", PASSWORD)
    sessions.callers.set_disabled("eva")
    with pytest.raises(AuthenticationError):
        sessions.caller(started)


def test_the_login_is_throttled_by_the_caller_service(world: tuple[PortalSessions, Clock]) -> None:
    sessions, _ = world
    for _ in range(sessions.callers.settings.login_failures):
        with pytest.raises(AuthenticationError, match="not valid"):
            sessions.login("eva", "wrong password!")
    with pytest.raises(AuthenticationError, match="too many"):
        sessions.login("eva", PASSWORD)  # even the right password waits out the pause


def test_an_anonymous_session_has_no_caller(world: tuple[PortalSessions, Clock]) -> None:
    sessions, _ = world
    anonymous = sessions.anonymous()
    with pytest.raises(AuthenticationError):
        sessions.caller(anonymous)
    forged = replace(anonymous, access="not-a-token")
    with pytest.raises(AuthenticationError):
        sessions.caller(forged)
