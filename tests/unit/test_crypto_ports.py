"""The crypto and auth ports, each checked against its adapter and its fake alike (SPEC U1, U3):
the fakes must be as strict as the real thing, or a test on them proves nothing."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from tests.conftest import POLICY_PATH

from carprivacy.adapters.crypto.passwords import Argon2PasswordHasher
from carprivacy.adapters.crypto.signing import Ed25519CheckpointSigner
from carprivacy.adapters.crypto.tokens import JwtTokenSigner
from carprivacy.adapters.policy.loader import load_policy_file
from carprivacy.domain.errors import AuthenticationError
from carprivacy.services.audit.ports import CheckpointSigner
from carprivacy.services.identity.callers import CallerService, CallerSettings
from carprivacy.services.identity.ports import PasswordHasher, TokenSigner
from carprivacy.services.identity.tokens import AccessTokens
from carprivacy.testing import (
    FakeCheckpointSigner,
    FakeClock,
    FakePasswordHasher,
    FakeTokenSigner,
    InMemoryCallerRepository,
    InMemoryEmailOutbox,
)

AT = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def hashers() -> list[PasswordHasher]:
    return [Argon2PasswordHasher(time_cost=1, memory_kib=8), FakePasswordHasher()]


def token_signers(key: bytes = b"k" * 32) -> list[TokenSigner]:
    return [JwtTokenSigner(key), FakeTokenSigner(key)]


def checkpoint_signers(seed: bytes = b"s" * 32) -> list[CheckpointSigner]:
    return [Ed25519CheckpointSigner(seed), FakeCheckpointSigner(seed)]


@pytest.mark.parametrize("hasher", hashers(), ids=lambda h: type(h).__name__)
def test_a_password_hash_verifies_only_its_password(hasher: PasswordHasher) -> None:
    stored = hasher.hash("correct horse battery")
    assert hasher.hash("correct horse battery") != stored  # salted
    assert hasher.verify(stored, "correct horse battery")
    assert not hasher.verify(stored, "correct horse batterY")
    assert not hasher.verify("not a hash at all", "correct horse battery")
    assert not hasher.verify("", "")


@pytest.mark.parametrize("index", [0, 1], ids=["JwtTokenSigner", "FakeTokenSigner"])
def test_a_token_verifies_under_its_key_only(index: int) -> None:
    signer, foreign = token_signers()[index], token_signers(b"f" * 32)[index]
    token = signer.sign({"sub": "p_1", "scope": "a b", "exp": 10})
    assert signer.verify(token) == {"sub": "p_1", "scope": "a b", "exp": 10}
    with pytest.raises(AuthenticationError):
        foreign.verify(token)
    head, _, tail = token.rpartition(".")
    forged = f"{head}.{'A' if tail[0] != 'A' else 'B'}{tail[1:]}"
    for bad in (forged, token[:-3], "", "a.b", "no token"):
        with pytest.raises(AuthenticationError):
            signer.verify(bad)


@pytest.mark.parametrize("index", [0, 1], ids=["JwtTokenSigner", "FakeTokenSigner"])
def test_access_tokens_check_claims_against_the_clock(index: int) -> None:
    signer = token_signers()[index]
    tokens = AccessTokens(signer, timedelta(minutes=15))
    token = tokens.issue("p_1", {"role": "dealer"}, frozenset({"b", "a"}), AT)
    verified = tokens.verify(token.access_token, AT + timedelta(minutes=14))
    assert verified.subject == "p_1" and verified.scopes == {"a", "b"}
    with pytest.raises(AuthenticationError, match="expired"):
        tokens.verify(token.access_token, AT + timedelta(minutes=15))
    with pytest.raises(AuthenticationError, match="not valid"):  # issued in the future
        tokens.verify(token.access_token, AT - timedelta(seconds=1))
    stranger = signer.sign({"iss": "elsewhere", "sub": "p_1", "iat": 0, "exp": 2**40})
    with pytest.raises(AuthenticationError, match="not valid"):
        tokens.verify(stranger, AT)
    partial = signer.sign({"iss": "carprivacy", "sub": "p_1", "exp": 2**40})  # no iat
    with pytest.raises(AuthenticationError, match="not valid"):
        tokens.verify(partial, AT)


def test_a_short_token_key_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        JwtTokenSigner(b"short")


@pytest.mark.parametrize("index", [0, 1], ids=["Ed25519CheckpointSigner", "FakeCheckpointSigner"])
def test_a_checkpoint_signature_checks_only_for_its_payload_and_key(index: int) -> None:
    signer, foreign = checkpoint_signers()[index], checkpoint_signers(b"t" * 32)[index]
    signature = signer.sign(b"seq=7")
    assert signer.check(b"seq=7", signature, signer.key_id)
    assert not signer.check(b"seq=8", signature, signer.key_id)  # tampered payload
    assert not signer.check(b"seq=7", signature, foreign.key_id)
    assert not foreign.check(b"seq=7", signature, signer.key_id)
    assert not foreign.check(b"seq=7", signature, foreign.key_id)  # another key's signature
    raw = bytearray(base64.b64decode(signature))
    raw[0] ^= 1
    assert not signer.check(b"seq=7", base64.b64encode(bytes(raw)).decode(), signer.key_id)
    assert not signer.check(b"seq=7", "not base64!", signer.key_id)
    assert signer.key_id != foreign.key_id and len(signer.key_id) == 16


def test_the_caller_service_logs_in_with_the_real_adapters() -> None:
    clock = FakeClock(AT)
    svc = CallerService(
        InMemoryCallerRepository(),
        load_policy_file(POLICY_PATH),
        InMemoryEmailOutbox(),
        b"c" * 32,
        clock,
        CallerSettings(),
        passwords=Argon2PasswordHasher(time_cost=1, memory_kib=8),
        tokens=JwtTokenSigner(b"t" * 32),
    )
    record, _ = svc.create(
        name="Po",
        kind="person",
        role="privacy_officer",
        organisation="mini_ag",
        email="po@example.org",
        password="a long enough passphrase",
    )
    token = svc.login_password("po@example.org", "a long enough passphrase")
    assert svc.authenticate(token.access_token).id == record.id
    with pytest.raises(AuthenticationError):
        svc.login_password("po@example.org", "the wrong passphrase!")
    clock.advance(timedelta(minutes=16))
    with pytest.raises(AuthenticationError, match="expired"):
        svc.authenticate(token.access_token)
