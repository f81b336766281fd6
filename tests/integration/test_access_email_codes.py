"""E-mail login codes resist guessing on both databases.

A new code ends the caller's earlier ones; codes per hour are limited; attempts are counted
atomically, so guesses cannot run in parallel past the limit, and a code is used at most once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from tests.conftest import POLICY_PATH

from carprivacy.adapters.crypto.passwords import Argon2PasswordHasher
from carprivacy.adapters.crypto.tokens import JwtTokenSigner
from carprivacy.adapters.db.repositories.callers import SqlCallerRepository
from carprivacy.adapters.policy.loader import load_policy_file
from carprivacy.domain.errors import AuthenticationError
from carprivacy.services.identity.callers import CallerService, CallerSettings
from carprivacy.services.identity.ports import CallerRepository
from carprivacy.testing.callers import InMemoryCallerRepository, InMemoryEmailOutbox
from carprivacy.testing.crypto import InMemoryFieldCipher

POLICY = load_policy_file(POLICY_PATH)


class Clock:
    at = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture(params=["memory", "sql"])
def repository(request: pytest.FixtureRequest, engine: Engine) -> CallerRepository:
    if request.param == "memory":
        return InMemoryCallerRepository()
    return SqlCallerRepository(engine, InMemoryFieldCipher(), b"l" * 32)


def setup(repository: CallerRepository) -> tuple[CallerService, InMemoryEmailOutbox, Clock]:
    clock, outbox = Clock(), InMemoryEmailOutbox()
    svc = CallerService(
        repository,
        POLICY,
        outbox,
        b"k" * 32,
        clock,
        CallerSettings(),
        passwords=Argon2PasswordHasher(time_cost=1, memory_kib=8),
        tokens=JwtTokenSigner(b"k" * 32),
    )
    svc.create(
        name="Agent",
        kind="person",
        role="customer_service",
        organisation="mini_nl",
        email="agent@example.org",
    )
    return svc, outbox, clock


def code_of(outbox: InMemoryEmailOutbox) -> str:
    return outbox.sent[-1].body.split("code is ")[1][:6]


def test_a_new_code_ends_the_earlier_one(repository: CallerRepository) -> None:
    svc, outbox, _ = setup(repository)
    first = svc.start_email_code("agent@example.org")
    first_code = code_of(outbox)
    svc.start_email_code("agent@example.org")
    with pytest.raises(AuthenticationError):
        svc.verify_email_code(first, first_code)


def test_codes_per_hour_are_limited_without_a_hint(repository: CallerRepository) -> None:
    svc, outbox, clock = setup(repository)
    for _ in range(5):
        svc.start_email_code("agent@example.org")
    assert len(outbox.sent) == 5
    answer = svc.start_email_code("agent@example.org")
    assert answer and len(outbox.sent) == 5  # same shape of answer, no sixth mail
    clock.at += timedelta(hours=1, seconds=1)
    code_id = svc.start_email_code("agent@example.org")
    assert len(outbox.sent) == 6
    assert svc.verify_email_code(code_id, code_of(outbox)).access_token


def test_a_code_is_used_once_and_attempts_are_capped(repository: CallerRepository) -> None:
    svc, outbox, _ = setup(repository)
    code_id = svc.start_email_code("agent@example.org")
    code = code_of(outbox)
    assert svc.verify_email_code(code_id, code).access_token
    with pytest.raises(AuthenticationError):
        svc.verify_email_code(code_id, code)
    code_id = svc.start_email_code("agent@example.org")
    code = code_of(outbox)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        with pytest.raises(AuthenticationError):
            svc.verify_email_code(code_id, wrong)
    with pytest.raises(AuthenticationError, match="too many"):
        svc.verify_email_code(code_id, code)
    assert not repository.claim_email_code_attempt(code_id, 5)
