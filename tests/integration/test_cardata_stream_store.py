"""The stream's credentials on SQLite and PostgreSQL, and the in-memory fake alike (SPEC C2): one
row per account, the newest token issued replacing the older; never the token itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, inspect

from carprivacy.adapters.db.repositories.cardata_stream import SqlStreamCredentialRepository
from carprivacy.domain.cardata_stream import StreamCredential
from carprivacy.testing.cardata_stream import InMemoryStreamCredentialRepository

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def credential(gcid: str, grant: str, at: datetime) -> StreamCredential:
    return StreamCredential(gcid, "eva", "client-1", grant, at + timedelta(hours=1), at)


@pytest.mark.parametrize("kind", ["sql", "memory"])
def test_the_newest_credential_of_an_account_replaces_the_older(engine: Engine, kind: str) -> None:
    repo = (
        SqlStreamCredentialRepository(engine)
        if kind == "sql"
        else InMemoryStreamCredentialRepository()
    )
    repo.save_credential(credential("g-2", "grant-a", T0))
    repo.save_credential(credential("g-1", "grant-b", T0))
    repo.save_credential(credential("g-2", "grant-c", T0 + timedelta(minutes=5)))
    found = repo.credentials()
    assert [(c.gcid, c.grant_id) for c in found] == [("g-1", "grant-b"), ("g-2", "grant-c")]
    assert found[1].expires_at == T0 + timedelta(minutes=65)
    assert found[1].expires_at.tzinfo is not None
    assert found[1].live(T0 + timedelta(minutes=64)) and not found[1].live(found[1].expires_at)


def test_the_table_keeps_no_token(engine: Engine) -> None:
    columns = {c["name"] for c in inspect(engine).get_columns("cardata_stream_credentials")}
    assert columns == {"gcid", "owner_id", "client_id", "grant_id", "expires_at", "issued_at"}
