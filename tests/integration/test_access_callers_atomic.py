"""Creating a caller is one transaction (SPEC U1, I3): a failure while
storing its credential leaves no caller behind, so creating it again does not conflict."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError
from tests.conftest import POLICY_PATH

from carprivacy.adapters.crypto.envelope import EnvelopeCipher
from carprivacy.adapters.crypto.master_key import MasterKeyRing, new_master_key
from carprivacy.adapters.crypto.passwords import Argon2PasswordHasher
from carprivacy.adapters.crypto.tokens import JwtTokenSigner
from carprivacy.adapters.db.repositories.callers import SqlCallerRepository
from carprivacy.adapters.db.repositories.data_keys import SqlDataKeyRepository
from carprivacy.adapters.db.tables.access import caller_credentials, callers
from carprivacy.adapters.policy.loader import load_policy_file
from carprivacy.services.identity.callers import CallerService, CallerSettings
from carprivacy.testing.callers import InMemoryEmailOutbox

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
CHEAP = CallerSettings()
# argon2id at its cheapest: the adapter is real, the cost is not
PASSWORDS = Argon2PasswordHasher(time_cost=1, memory_kib=8)


def _service(engine: Engine) -> CallerService:
    cipher = EnvelopeCipher(SqlDataKeyRepository(engine), MasterKeyRing(new_master_key()))
    return CallerService(
        SqlCallerRepository(engine, cipher, b"l" * 32),
        load_policy_file(POLICY_PATH),
        InMemoryEmailOutbox(),
        b"t" * 32,
        lambda: T0,
        CHEAP,
        passwords=PASSWORDS,
        tokens=JwtTokenSigner(b"t" * 32),
    )


def _callers(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(callers)).scalar_one())


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "person", "role": "privacy_officer", "password": "a long passphrase"},
        {"kind": "machine", "role": "partner", "generate_secret": True},
    ],
)
def test_a_failure_storing_the_credential_leaves_no_caller(
    engine: Engine, kwargs: dict[str, object]
) -> None:
    svc = _service(engine)
    # the credential cannot be stored: its table is gone (a crash between the two writes)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE caller_credentials"))
    with pytest.raises(DBAPIError):
        svc.create(name="X", organisation="mini_nl", caller_id="x1", **kwargs)  # type: ignore[arg-type]
    assert _callers(engine) == 0
    # once the store is back, creating the same caller again succeeds (no 409) and logs in
    caller_credentials.create(engine)
    record, secret = svc.create(name="X", organisation="mini_nl", caller_id="x1", **kwargs)  # type: ignore[arg-type]
    assert _callers(engine) == 1
    if secret is None:
        assert svc.login_password("x1", "a long passphrase").access_token
    else:
        assert svc.client_credentials(record.id, secret, None).access_token
