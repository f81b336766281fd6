"""The consent ledger table on SQLite and PostgreSQL: append-only (the triggers refuse UPDATE and
DELETE, from the models and from the migrations), entries read back as written, sealed notes, and
the replayed state in the decision facts (SPEC C1, C4, R4, R6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, delete, text, update
from sqlalchemy.exc import DBAPIError

from carprivacy.adapters.db.migrate import upgrade
from carprivacy.adapters.db.repositories.subject_state import SqlSubjectStateRepository
from carprivacy.adapters.db.tables.subject_state import subject_ledger
from carprivacy.domain.consent_ledger import Actor, Channel, EntryKind, LedgerEntry
from carprivacy.domain.subject_state import ConsentChoice, RestrictionCase
from carprivacy.testing import InMemoryFieldCipher

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)


def entry(i: int, kind: EntryKind, record: str, **kw: object) -> LedgerEntry:
    return LedgerEntry(
        id=f"e{i}", subject_id="s1", kind=kind, at=T0 + timedelta(hours=i), recorded_by="s1",
        actor=Actor.SUBJECT, channel=Channel.APP, record_id=record, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


ENTRIES = [
    entry(0, EntryKind.CONSENT_GIVEN, "c1", topic="cardata_sharing", choice=ConsentChoice.GIVEN,
          party="ins_a", text_version="1", text_hash="ab" * 32, language="nl"),
    entry(1, EntryKind.OBJECTION_MADE, "o1", purpose="after_sales_service", note="my grounds"),
    entry(2, EntryKind.RESTRICTION_STARTED, "r1", case=RestrictionCase.ACCURACY_CONTESTED,
          categories=("contact", "account")),
    entry(3, EntryKind.CONSENT_WITHDRAWN, "", topic="cardata_sharing", party="ins_a"),
    entry(4, EntryKind.RESTRICTION_LIFTED, "r1", note="notice by e-mail"),
]  # fmt: skip


def _refused(engine: Engine, statement: object) -> None:
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(statement)  # type: ignore[call-overload]


def test_entries_round_trip_and_the_table_refuses_update_and_delete(engine: Engine) -> None:
    repo = SqlSubjectStateRepository(engine, InMemoryFieldCipher())
    for e in ENTRIES:
        repo.append(e)
    assert repo.entries("s1") == ENTRIES
    assert repo.entries("nobody") == []
    _refused(engine, update(subject_ledger).values(recorded_by="x"))
    _refused(engine, delete(subject_ledger))
    assert repo.entries("s1") == ENTRIES
    with engine.connect() as conn:  # the note is sealed, not stored in the clear
        raw = conn.execute(text("SELECT note FROM subject_ledger WHERE id = 'e1'")).scalar_one()
    assert b"my grounds" not in bytes(raw)


def test_the_replayed_state_is_what_decisions_and_reads_see(engine: Engine) -> None:
    repo = SqlSubjectStateRepository(engine, InMemoryFieldCipher())
    for e in ENTRIES:
        repo.append(e)
    (consent,) = repo.consents("s1")
    assert consent.party == "ins_a" and consent.withdrawn_at == T0 + timedelta(hours=3)
    assert repo.consents_of(["s1", "s2"])["s1"] == [consent]
    (restriction,) = repo.restrictions("s1")
    assert restriction.lifted_at == T0 + timedelta(hours=4)
    with engine.connect() as conn:
        held = repo.held_on(conn, ["s1"])["s1"]
    assert held.consents == [consent] and [o.grounds for o in held.objections] == ["my grounds"]


def test_the_migrated_table_is_append_only_too(empty_engine: Engine) -> None:
    upgrade(empty_engine)  # the migrated schema, not the models
    repo = SqlSubjectStateRepository(empty_engine, InMemoryFieldCipher())
    repo.append(ENTRIES[0])
    _refused(empty_engine, update(subject_ledger).values(party="ins_b"))
    _refused(empty_engine, delete(subject_ledger).where(subject_ledger.c.id == "e0"))
    assert repo.entries("s1") == [ENTRIES[0]]
