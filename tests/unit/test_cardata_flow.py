"""The CarData device authorisation on fakes (SPEC C2, U1; RFC 8628, RFC 7636): the grant's
state machine (pending -> approved | denied | expired; slow_down; PKCE; single use), refresh
token rotation and reuse, the person a code belongs to, and the call quota. Hypothesis drives
random sequences of polls, answers and clock moves against the rules the RFCs state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carprivacy.domain.access import CallerKind, Role
from carprivacy.domain.cardata import (
    SLOW_DOWN_STEP,
    DeviceGrant,
    GrantStatus,
    PollOutcome,
    container_problems,
    normalise_user_code,
    poll,
    s256,
)
from carprivacy.domain.errors import (
    AccessDeniedError,
    AuthenticationError,
    NotFoundError,
    OAuthGrantError,
    RateLimitedError,
)
from carprivacy.services.cardata.authorisation import CarDataAuthorisation, TokenSet
from carprivacy.services.cardata.quota import CallQuota, QuotaSettings
from carprivacy.services.identity.callers import CallerRecord
from carprivacy.testing import (
    FakeClock,
    FakeTokenSigner,
    InMemoryCallerRepository,
    InMemoryCarDataRepository,
)

T0 = datetime(2026, 5, 1, 12, tzinfo=UTC)
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"  # RFC 7636 appendix B
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
GRANT = "urn:ietf:params:oauth:grant-type:device_code"
SCOPE = "openid cardata:api:read"


class World:
    def __init__(self) -> None:
        self.clock = FakeClock(T0)
        self.store = InMemoryCarDataRepository()
        self.callers = InMemoryCallerRepository()
        for who in ("eva", "bob"):
            self.callers.add(
                CallerRecord(
                    who, who, CallerKind.PERSON, Role.CUSTOMER, "mini_nl", frozenset(), T0,
                    subject_id=f"subject-{who}",
                )
            )  # fmt: skip
        self.auth = CarDataAuthorisation(
            self.store,
            self.callers,
            FakeTokenSigner(),
            b"k" * 32,
            self.clock,
            lambda subject: f"gcid-{subject}",
        )

    def person(self, who: str = "eva"):  # noqa: ANN201 - a Caller
        record = self.callers.get(who)
        assert record is not None
        return record.to_caller()

    def client(self, scopes: tuple[str, ...] = ("cardata:api:read",)) -> str:
        return self.auth.create_client(self.person(), "home", scopes).id

    def start(self, client_id: str) -> tuple[str, str]:
        d = self.auth.start(client_id, "device_code", SCOPE, CHALLENGE, "S256")
        return d.device_code, d.user_code

    def poll(self, client_id: str, device_code: str, verifier: str = VERIFIER) -> TokenSet | str:
        try:
            return self.auth.token(
                GRANT, client_id=client_id, device_code=device_code, code_verifier=verifier
            )
        except OAuthGrantError as refused:
            return refused.error


def test_s256_is_rfc_7636s_worked_example() -> None:
    assert s256(VERIFIER) == CHALLENGE


def test_user_codes_read_back_however_they_are_typed() -> None:
    assert normalise_user_code("bcdf-ghjk") == "BCDFGHJK"
    assert normalise_user_code(" BCDF GHJK ") == "BCDFGHJK"
    assert normalise_user_code("BCDF-GHJA") is None  # a vowel is never in a code
    assert normalise_user_code("BCDF") is None


def test_a_grant_moves_pending_approved_used() -> None:
    w = World()
    cid = w.client()
    device, user = w.start(cid)
    assert w.poll(cid, device) == "authorization_pending"
    w.clock.advance(timedelta(seconds=5))
    assert w.auth.answer(w.person(), user, True).status is GrantStatus.APPROVED
    tokens = w.poll(cid, device)
    assert isinstance(tokens, TokenSet) and tokens.gcid == "gcid-subject-eva"
    assert w.poll(cid, device) == "invalid_grant"  # single use
    reader = w.auth.authenticate(tokens.access_token)
    assert reader.caller.id == "eva" and reader.scopes == {"cardata:api:read"}
    assert w.auth.authenticate_id_token(tokens.id_token).gcid == "gcid-subject-eva"
    with pytest.raises(AuthenticationError):
        w.auth.authenticate(tokens.id_token)  # an id token is not an access token


def test_a_denied_grant_answers_access_denied_and_an_old_one_expired_token() -> None:
    w = World()
    cid = w.client()
    device, user = w.start(cid)
    w.auth.answer(w.person(), user, False)
    assert w.poll(cid, device) == "access_denied"
    w.clock.advance(timedelta(minutes=10))
    assert w.poll(cid, device) == "expired_token"
    late_device, late_user = w.start(cid)
    w.clock.advance(timedelta(minutes=10))
    with pytest.raises(NotFoundError):
        w.auth.answer(w.person(), late_user, True)  # too late to approve
    assert w.poll(cid, late_device) == "expired_token"


def test_a_wrong_verifier_or_another_client_is_invalid_grant() -> None:
    w = World()
    cid, other = w.client(), w.client()
    device, user = w.start(cid)
    w.auth.answer(w.person(), user, True)
    assert w.poll(cid, device, "A" * 43) == "invalid_grant"
    assert w.poll(other, device) == "invalid_grant"
    assert isinstance(w.poll(cid, device), TokenSet)  # still the rightful client's, once


def test_only_the_clients_person_can_answer_its_code() -> None:
    w = World()
    cid = w.client()
    _, user = w.start(cid)
    with pytest.raises(NotFoundError):
        w.auth.answer(w.person("bob"), user, True)
    assert w.auth.answer(w.person(), user, True).status is GrantStatus.APPROVED


def test_guessing_user_codes_is_paused() -> None:
    w = World()
    for _ in range(10):
        with pytest.raises(NotFoundError):
            w.auth.answer(w.person(), "BCDF-GHJK", True)
    with pytest.raises(RateLimitedError):
        w.auth.answer(w.person(), "BCDF-GHJK", True)
    w.clock.advance(timedelta(minutes=5, seconds=1))
    with pytest.raises(NotFoundError):
        w.auth.answer(w.person(), "BCDF-GHJK", True)


def test_refresh_rotates_and_a_reused_token_revokes_the_grant() -> None:
    w = World()
    cid = w.client()
    device, user = w.start(cid)
    w.auth.answer(w.person(), user, True)
    first = w.poll(cid, device)
    assert isinstance(first, TokenSet)
    second = w.auth.token("refresh_token", client_id=cid, refresh_token=first.refresh_token)
    assert second.refresh_token != first.refresh_token
    w.auth.authenticate(second.access_token)
    with pytest.raises(OAuthGrantError, match="invalid_grant"):
        w.auth.token("refresh_token", client_id=cid, refresh_token=first.refresh_token)
    with pytest.raises(AuthenticationError):
        w.auth.authenticate(second.access_token)  # the whole grant stopped
    with pytest.raises(OAuthGrantError, match="invalid_grant"):
        w.auth.token("refresh_token", client_id=cid, refresh_token=second.refresh_token)


def test_deleting_a_client_stops_its_tokens() -> None:
    w = World()
    cid = w.client()
    device, user = w.start(cid)
    w.auth.answer(w.person(), user, True)
    tokens = w.poll(cid, device)
    assert isinstance(tokens, TokenSet)
    w.auth.delete_client(w.person(), cid)
    with pytest.raises(AuthenticationError):
        w.auth.authenticate(tokens.access_token)
    with pytest.raises(NotFoundError):
        w.auth.delete_client(w.person("bob"), w.client())  # not Bob's


def test_only_a_customer_creates_clients() -> None:
    w = World()
    staff = w.person().__class__("desk", CallerKind.PERSON, Role.CUSTOMER_SERVICE, "mini_nl")
    with pytest.raises(AccessDeniedError, match="customer"):
        w.auth.create_client(staff, "x", ("cardata:api:read",))


def test_an_unknown_descriptor_is_named() -> None:
    known = frozenset({"Vehicle.Speed"})
    problems = container_problems("n", "p", ["Vehicle.Speed", "Vehicle.Warp", 3], known)
    assert [(p.path, p.rule) for p in problems] == [
        ("technicalDescriptors.1", "unknown_descriptor"),
        ("technicalDescriptors.2", "unknown_descriptor"),
    ]
    assert "Vehicle.Warp" in problems[0].message
    assert container_problems("n", "p", ["Vehicle.Speed"], known) == []


def test_the_quota_counts_both_keys_and_says_when_to_retry() -> None:
    clock = FakeClock(T0)
    quota = CallQuota(
        InMemoryCarDataRepository(),
        b"q" * 32,
        clock,
        QuotaSettings(per_client=3, per_account=5, window=timedelta(hours=1)),
    )
    assert [quota.charge("c1", "acct").remaining for _ in range(3)] == [2, 1, 0]
    with pytest.raises(RateLimitedError) as over:
        quota.charge("c1", "acct")
    assert over.value.retry_after == 3600
    assert quota.charge("c2", "acct").remaining == 0  # the account's 5th call
    with pytest.raises(RateLimitedError):
        quota.charge("c3", "acct")  # the account is over, whatever the client
    clock.advance(timedelta(hours=1))
    assert quota.charge("c1", "acct").remaining == 2


# -- the state machine under random sequences ----------------------------------------------------

EVENTS = st.lists(
    st.one_of(
        st.tuples(st.just("poll"), st.booleans()),  # with the right verifier or not
        st.tuples(st.just("wait"), st.integers(0, 400)),  # seconds
        st.tuples(st.just("answer"), st.booleans()),  # approve or deny
    ),
    max_size=25,
)


@settings(max_examples=200, deadline=None)
@given(EVENTS)
def test_random_sequences_keep_the_rfc_rules(events: list[tuple[str, object]]) -> None:
    """Tokens are issued at most once, only after an approval, before expiry and with the
    right verifier; access_denied only after a denial; slow_down exactly when a pending grant
    is polled sooner than its interval after the previous poll, and each adds 5 seconds."""
    w = World()
    cid = w.client()
    device, user = w.start(cid)
    expires = T0 + timedelta(minutes=10)
    answered: bool | None = None
    issued = 0
    last_poll: datetime | None = None
    interval = 5
    for kind, arg in events:
        if kind == "wait":
            w.clock.advance(timedelta(seconds=int(arg)))  # type: ignore[call-overload]
        elif kind == "answer":
            try:
                w.auth.answer(w.person(), user, bool(arg))
                assert answered is None and w.clock() < expires
                answered = bool(arg)
            except NotFoundError:
                assert answered is not None or w.clock() >= expires
            except RateLimitedError:
                pass  # more than 10 answers in 5 minutes: paused, nothing changed
        else:
            right = bool(arg)
            got = w.poll(cid, device, VERIFIER if right else "B" * 43)
            now = w.clock()
            if issued:
                assert got == "invalid_grant"
                continue
            if now >= expires:
                assert got == "expired_token"
                continue
            if not right:
                assert got == "invalid_grant"
                continue
            fast = last_poll is not None and now - last_poll < timedelta(seconds=interval)
            last_poll = now
            if fast:
                interval += SLOW_DOWN_STEP
            if answered is True:
                assert isinstance(got, TokenSet)
                issued += 1
            elif answered is False:
                assert got == "access_denied"
            else:
                assert got == ("slow_down" if fast else "authorization_pending")
    assert issued <= 1


@given(st.integers(0, 20), st.integers(0, 60))
def test_poll_is_slow_down_exactly_when_too_fast(interval: int, gap: int) -> None:
    grant = DeviceGrant(
        "g", "c", "eva", "d", "u", CHALLENGE, frozenset(), interval, T0 + timedelta(hours=1), T0,
        last_poll_at=T0,
    )  # fmt: skip
    outcome, after = poll(grant, "c", VERIFIER, T0 + timedelta(seconds=gap))
    too_fast = gap < interval
    assert outcome is (PollOutcome.SLOW_DOWN if too_fast else PollOutcome.PENDING)
    assert after is not None and after.interval == interval + (SLOW_DOWN_STEP if too_fast else 0)
