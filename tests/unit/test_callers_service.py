"""Callers with in-memory fakes: validation, logins, tokens, no enumeration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tests.conftest import POLICY_PATH

from carprivacy.adapters.policy.loader import load_policy_file
from carprivacy.domain.errors import AuthenticationError, ConflictError, InvalidInputError
from carprivacy.services.identity.callers import CallerService, CallerSettings
from carprivacy.testing.callers import (
    FakePasswordHasher,
    FakeTokenSigner,
    InMemoryCallerRepository,
    InMemoryEmailOutbox,
)

POLICY = load_policy_file(POLICY_PATH)


class Clock:
    at = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at


def service() -> tuple[CallerService, InMemoryEmailOutbox, Clock]:
    clock, outbox = Clock(), InMemoryEmailOutbox()
    svc = CallerService(
        InMemoryCallerRepository(),
        POLICY,
        outbox,
        b"k" * 32,
        clock,
        CallerSettings(),
        passwords=FakePasswordHasher(),
        tokens=FakeTokenSigner(),
    )
    return svc, outbox, clock


@pytest.mark.parametrize(
    ("kwargs", "problems"),
    [
        ({"kind": "robot", "role": "dealer"}, {("kind", "one_of")}),
        ({"kind": "machine", "role": "dealer"}, {("role", "machine_role")}),
        ({"kind": "person", "role": "partner"}, {("role", "person_role")}),
        ({"kind": "person", "role": "customer"}, {("subject_id", "required")}),
        ({"kind": "person", "role": "fleet_manager"}, {("fleet_id", "required")}),
        ({"organisation": "acme"}, {("organisation", "policy_party")}),
        ({"password": "short"}, {("password", "min_length")}),
        (
            {"kind": "machine", "role": "partner", "password": "long enough pass"},
            {("password", "machine")},
        ),
        ({"generate_secret": True}, {("generate_secret", "person")}),
        ({"email": "nope"}, {("email", "format")}),
        ({"scopes": ["Bad Scope"]}, {("scopes", "format")}),
        ({"name": " "}, {("name", "required")}),
    ],
)
def test_bad_callers_are_refused_naming_field_and_rule(
    kwargs: dict[str, object], problems: set[tuple[str, str]]
) -> None:
    svc, _, _ = service()
    args: dict[str, object] = {
        "name": "X",
        "kind": "person",
        "role": "dealer",
        "organisation": "dealers",
    }
    args.update(kwargs)
    with pytest.raises(InvalidInputError) as e:
        svc.create(**args)  # type: ignore[arg-type]
    assert {(p.path, p.rule) for p in e.value.problems} == problems
    assert svc.list() == []  # nothing half-written


def test_every_recipient_and_controller_of_the_policy_is_an_organisation() -> None:
    svc, _, _ = service()
    assert {"mini_nl", "mini_ag", "dealers", "cardata_third_parties"} <= svc.organisations()


def test_tokens_carry_scopes_expire_and_die_with_the_caller() -> None:
    svc, _, clock = service()
    m, secret = svc.create(
        name="Fleet",
        kind="machine",
        role="partner",
        organisation="fleet_operators",
        scopes=["fleet:read", "fleet:stream"],
        generate_secret=True,
    )
    assert secret is not None
    with pytest.raises(InvalidInputError):
        svc.client_credentials(m.id, secret, "fleet:read admin")
    token = svc.client_credentials(m.id, secret, "fleet:read")
    caller = svc.authenticate(token.access_token)
    assert (caller.id, caller.role.value, caller.organisation, caller.scopes) == (
        m.id,
        "partner",
        "fleet_operators",
        frozenset({"fleet:read"}),
    )
    new_secret = svc.rotate_secret(m.id)
    with pytest.raises(AuthenticationError):
        svc.client_credentials(m.id, secret, None)
    assert svc.client_credentials(m.id, new_secret, None).scope == "fleet:read fleet:stream"
    clock.at += timedelta(minutes=15)
    with pytest.raises(AuthenticationError, match="expired"):
        svc.authenticate(token.access_token)
    forged = token.access_token[:-2] + ("AA" if token.access_token[-2:] != "AA" else "BB")
    with pytest.raises(AuthenticationError):
        svc.authenticate(forged)


def test_email_codes_are_single_use_limited_and_unknown_addresses_get_no_mail() -> None:
    svc, outbox, clock = service()
    svc.create(
        name="Agent",
        kind="person",
        role="customer_service",
        organisation="mini_nl",
        email="Agent@Example.org",
    )
    assert svc.start_email_code("nobody@example.org") and outbox.sent == []
    code_id = svc.start_email_code("agent@example.org")
    (mail,) = outbox.sent
    assert mail.to == "agent@example.org"
    code = mail.body.split("code is ")[1][:6]
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        with pytest.raises(AuthenticationError):
            svc.verify_email_code(code_id, wrong)
    with pytest.raises(AuthenticationError, match="too many"):
        svc.verify_email_code(code_id, code)  # locked after 5 wrong codes
    code_id = svc.start_email_code("agent@example.org")
    code = outbox.sent[-1].body.split("code is ")[1][:6]
    clock.at += timedelta(minutes=11)
    with pytest.raises(AuthenticationError, match="expired"):
        svc.verify_email_code(code_id, code)


def test_an_unsent_code_is_spent_and_the_answer_is_the_one_every_address_gets() -> None:
    """A mail outage during an e-mail-code login (SPEC U1): no 500 and no oracle. The known
    address gets a code id as an unknown one does, and the code that was not sent cannot be used."""
    svc, outbox, _ = service()
    svc.create(
        name="Agent",
        kind="person",
        role="customer_service",
        organisation="mini_nl",
        email="agent@example.org",
    )
    outbox.down = True
    code_id = svc.start_email_code("agent@example.org")
    unknown_id = svc.start_email_code("nobody@example.org")
    assert type(code_id) is type(unknown_id) and len(code_id) == len(unknown_id)
    (attempt,) = outbox.undelivered  # the known address was tried, the unknown one not
    assert outbox.sent == []
    code = attempt.body.split("code is ")[1][:6]
    with pytest.raises(AuthenticationError, match="not valid"):
        svc.verify_email_code(code_id, code)
    outbox.down = False  # once mail flows again, a new code works
    code_id = svc.start_email_code("agent@example.org")
    svc.verify_email_code(code_id, outbox.sent[-1].body.split("code is ")[1][:6])


def test_duplicate_ids_and_emails_conflict() -> None:
    svc, _, _ = service()
    svc.create(
        name="A",
        kind="person",
        role="dealer",
        organisation="dealers",
        caller_id="desk",
        email="a@example.org",
    )
    with pytest.raises(ConflictError):
        svc.create(name="B", kind="person", role="dealer", organisation="dealers", caller_id="desk")
    with pytest.raises(ConflictError):
        svc.create(
            name="C", kind="person", role="dealer", organisation="dealers", email="A@example.org"
        )


def test_password_guessing_is_paused_after_ten_failures() -> None:
    svc, _, clock = service()
    svc.create(
        name="PO",
        kind="person",
        role="privacy_officer",
        organisation="mini_nl",
        caller_id="po",
        password="the right passphrase",
    )
    for i in range(10):
        with pytest.raises(AuthenticationError, match="not valid"):
            svc.login_password("po", f"guess {i}")
    with pytest.raises(AuthenticationError, match="too many"):
        svc.login_password("po", "the right passphrase")
    clock.at += timedelta(minutes=5)
    assert svc.login_password("po", "the right passphrase").access_token


def test_failed_logins_of_random_names_are_forgotten_when_their_window_ends() -> None:
    """The store of attempts stays bounded by one window's attempts, and holds no login name."""
    clock, outbox = Clock(), InMemoryEmailOutbox()
    settings = CallerSettings()
    repo = InMemoryCallerRepository()
    svc = CallerService(
        repo,
        POLICY,
        outbox,
        b"k" * 32,
        clock,
        settings,
        passwords=FakePasswordHasher(),
        tokens=FakeTokenSigner(),
    )
    for i in range(200):
        with pytest.raises(AuthenticationError, match="not valid"):
            svc.login_password(f"nobody-{i}", "guess")
    assert len(repo.login_attempts) == 200
    assert not any("nobody" in key for key in repo.login_attempts)  # keyed hashes only
    clock.at += settings.login_pause
    with pytest.raises(AuthenticationError, match="not valid"):
        svc.login_password("someone-else", "guess")
    assert len(repo.login_attempts) == 1


def test_a_paused_name_opens_a_new_window_after_the_pause() -> None:
    svc, _, clock = service()
    svc.create(
        name="PO",
        kind="person",
        role="privacy_officer",
        organisation="mini_nl",
        caller_id="po",
        password="the right passphrase",
    )
    for i in range(10):
        with pytest.raises(AuthenticationError, match="not valid"):
            svc.login_password("PO", f"guess {i}")  # the name counts whatever its case
    for _ in range(3):  # refused attempts do not extend the pause
        clock.at += timedelta(minutes=1)
        with pytest.raises(AuthenticationError, match="too many"):
            svc.login_password("po", "the right passphrase")
    clock.at += timedelta(minutes=2)
    assert svc.login_password("po", "the right passphrase").access_token


def test_the_bound_keeps_the_pause_of_a_name_still_being_guessed() -> None:
    svc, _, clock = service()
    svc.create(
        name="PO",
        kind="person",
        role="privacy_officer",
        organisation="mini_nl",
        caller_id="po",
        password="the right passphrase",
    )
    for i in range(10):
        clock.at += timedelta(seconds=10)
        with pytest.raises(AuthenticationError, match="not valid"):
            svc.login_password("po", f"guess {i}")
        with pytest.raises(AuthenticationError, match="not valid"):
            svc.login_password(f"random-{i}", "guess")
    with pytest.raises(AuthenticationError, match="too many"):
        svc.login_password("po", "the right passphrase")
