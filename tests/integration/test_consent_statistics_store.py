"""Consent statistics from the ledger table on SQLite and PostgreSQL (SPEC C4): the counts per UTC
day, topic, channel and kind are exactly what an independent count of the entries gives, and what
the in-memory fake gives; only given and withdrawn consents are counted; ``since`` is inclusive;
on PostgreSQL the day is the UTC day whatever the session's time zone."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, event

from carprivacy.adapters.db.repositories.consent_statistics import SqlConsentStatistics
from carprivacy.adapters.db.repositories.subject_state import SqlSubjectStateRepository
from carprivacy.domain.consent_ledger import Actor, Channel, EntryKind, LedgerEntry
from carprivacy.domain.subject_state import ConsentChoice
from carprivacy.testing import InMemoryFieldCipher
from carprivacy.testing.consent_statistics import InMemoryConsentStatistics
from carprivacy.testing.subject_state import InMemorySubjectStateRepository

T0 = datetime(2026, 3, 1, tzinfo=UTC)
TOPICS = ("marketing_email", "marketing_post", "cardata_sharing", None)
KINDS = (EntryKind.CONSENT_GIVEN, EntryKind.CONSENT_WITHDRAWN, EntryKind.OBJECTION_MADE)


def _entries(seed: int, n: int) -> list[LedgerEntry]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        kind = rnd.choice(KINDS)
        topic = None if kind is EntryKind.OBJECTION_MADE else rnd.choice(TOPICS)
        # minutes around midnight UTC on purpose: the day must be the UTC one
        at = T0 + timedelta(days=rnd.randrange(5), minutes=rnd.choice((-3, 0, 1, 600, 1439)))
        out.append(
            LedgerEntry(
                id=f"e{seed}-{i}",
                subject_id=f"s{rnd.randrange(7)}",
                kind=kind,
                at=at,
                recorded_by="x",
                actor=Actor.SUBJECT,
                channel=rnd.choice(list(Channel)),
                record_id=f"r{i}",
                topic=topic,
                choice=ConsentChoice.GIVEN if kind is EntryKind.CONSENT_GIVEN else None,
                purpose="marketing" if kind is EntryKind.OBJECTION_MADE else None,
            )
        )
    return out


def _oracle(entries: list[LedgerEntry], since: datetime | None) -> Counter[tuple[object, ...]]:
    return Counter(
        (e.at.astimezone(UTC).date(), e.topic, e.channel.value, e.kind)
        for e in entries
        if e.kind in (EntryKind.CONSENT_GIVEN, EntryKind.CONSENT_WITHDRAWN)
        and e.topic is not None
        and (since is None or e.at >= since)
    )


def test_the_counts_are_an_independent_count_of_the_entries(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        engine.dispose()  # new connections in a zone far from UTC: the day must stay UTC's

        @event.listens_for(engine, "connect")
        def _zone(dbapi_connection: object, _: object) -> None:
            cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
            cursor.execute("SET TIME ZONE 'Pacific/Kiritimati'")
            cursor.close()

    entries = _entries(7, 400)
    sql_ledger = SqlSubjectStateRepository(engine, InMemoryFieldCipher())
    memory = InMemorySubjectStateRepository()
    for e in entries:
        sql_ledger.append(e)
        memory.append(e)
    sql = SqlConsentStatistics(engine)
    fake = InMemoryConsentStatistics(memory)
    for since in (None, T0 + timedelta(days=2), T0 + timedelta(days=2, minutes=1)):
        got = sql.consent_counts(since)
        assert Counter({(c.day, c.topic, c.channel, c.kind): c.count for c in got}) == _oracle(
            entries, since
        )
        assert got == fake.consent_counts(since)
        assert [c.day for c in got] == sorted(c.day for c in got)
        assert all(c.count > 0 for c in got)


def test_no_entries_no_counts(engine: Engine) -> None:
    assert SqlConsentStatistics(engine).consent_counts() == []
