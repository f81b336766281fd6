"""Consent statistics from the ledger table (the ConsentStatistics port, SPEC C4): one GROUP BY
over (day, topic, channel, kind) for given and withdrawn consents, on SQLite and PostgreSQL
alike. Only the grouping columns and a count are read: no subject, no note, no text."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import ColumnElement, Engine, func, select

from carprivacy.adapters.db.tables.subject_state import subject_ledger
from carprivacy.domain.consent_ledger import EntryKind
from carprivacy.services.oversight.ports import COUNTED_KINDS, ConsentCount


def _day(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


class SqlConsentStatistics:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _day_of(self) -> ColumnElement[object]:
        at = subject_ledger.c.at
        if self.engine.dialect.name == "postgresql":
            return func.date(func.timezone("UTC", at))  # the UTC day, whatever the session's zone
        return func.date(at)  # SQLite keeps the UTC time as text

    def consent_counts(self, since: datetime | None = None) -> list[ConsentCount]:
        c = subject_ledger.c
        day = self._day_of().label("day")
        stmt = (
            select(day, c.topic, c.channel, c.kind, func.count().label("n"))
            .where(c.kind.in_([k.value for k in COUNTED_KINDS]), c.topic.is_not(None))
            .group_by(day, c.topic, c.channel, c.kind)
            .order_by(day, c.topic, c.channel, c.kind)
        )
        if since is not None:
            stmt = stmt.where(c.at >= since.astimezone(UTC))
        with self.engine.connect() as conn:
            return [
                ConsentCount(_day(r.day), str(r.topic), str(r.channel), EntryKind(r.kind), int(r.n))
                for r in conn.execute(stmt)
            ]
