"""SQL repositories of monitoring (SPEC U3): alerts with their acknowledgements, and the rules'
per-caller windows, shared by every process that serves requests.

A window session locks the rows of its callers for its transaction: on PostgreSQL by
``SELECT ... FOR UPDATE`` after making sure the rows exist, on SQLite by starting with that
write (SQLite holds one writer at a time, so a second process waits for the first to commit).
Two processes feeding one caller's entries therefore count them one after the other, never
both from the same old state.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from carprivacy.adapters.db.id_sets import among
from carprivacy.adapters.db.tables.access import (
    alert_acknowledgements,
    alerts,
    monitoring_subjects,
    monitoring_windows,
)
from carprivacy.domain.monitoring import Acknowledgement, Alert, AlertRule, CallerWindow
from carprivacy.services.audit.monitoring import AlertQuery


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _opt_utc(value: datetime | None) -> datetime | None:
    return None if value is None else _utc(value)


class SqlAlertRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, new: Sequence[Alert]) -> int:
        """Store alerts not stored yet (the id is stable); returns how many were new."""
        added = 0
        for alert in new:
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        insert(alerts).values(
                            id=alert.id,
                            rule=alert.rule.value,
                            caller_id=alert.caller_id,
                            organisation=alert.organisation,
                            role=alert.role,
                            at=_utc(alert.at),
                            window_start=_utc(alert.window_start),
                            count=alert.count,
                            threshold=alert.threshold,
                            entry_seq=alert.entry_seq,
                            message=alert.message,
                            acknowledged=False,
                        )
                    )
                added += 1
            except IntegrityError:
                continue
        return added

    def list(self, query: AlertQuery) -> list[Alert]:
        c = alerts.c
        stmt = select(alerts)
        if query.rule is not None:
            stmt = stmt.where(c.rule == query.rule.value)
        if query.caller_id is not None:
            stmt = stmt.where(c.caller_id == query.caller_id)
        if query.since is not None:
            stmt = stmt.where(c.at >= _utc(query.since))
        if query.until is not None:
            stmt = stmt.where(c.at < _utc(query.until))
        if query.acknowledged is not None:
            stmt = stmt.where(c.acknowledged.is_(query.acknowledged))
        with self.engine.connect() as conn:
            rows = conn.execute(stmt.order_by(c.at.desc(), c.id.desc()).limit(query.limit)).all()
            return _with_acknowledgements(conn, [_alert(r) for r in rows])

    def get(self, alert_id: str) -> Alert | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(alerts).where(alerts.c.id == alert_id)).first()
            if row is None:
                return None
            (alert,) = _with_acknowledgements(conn, [_alert(row)])
        return alert

    def acknowledge(self, acknowledgement: Acknowledgement) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(alert_acknowledgements).values(
                    alert_id=acknowledgement.alert_id,
                    acknowledged_by=acknowledgement.by,
                    at=_utc(acknowledgement.at),
                    note=acknowledgement.note,
                )
            )
            conn.execute(
                update(alerts)
                .where(alerts.c.id == acknowledgement.alert_id)
                .values(acknowledged=True)
            )


def _with_acknowledgements(conn: Connection, found: list[Alert]) -> list[Alert]:
    acked = [a.id for a in found if a.acknowledged]
    if not acked:
        return found
    a = alert_acknowledgements.c
    stmt = (
        select(a.alert_id, a.acknowledged_by, a.at, a.note)
        .where(among(conn.dialect.name, a.alert_id, acked))
        .order_by(a.id)
    )
    notes: dict[str, list[Acknowledgement]] = {}
    for r in conn.execute(stmt):
        notes.setdefault(r.alert_id, []).append(
            Acknowledgement(r.alert_id, r.acknowledged_by, _utc(r.at), r.note)
        )
    return [replace(x, acknowledgements=tuple(notes.get(x.id, ()))) for x in found]


def _alert(r: Row[Any]) -> Alert:
    alert = Alert(
        id=r.id,
        rule=AlertRule(r.rule),
        caller_id=r.caller_id,
        organisation=r.organisation,
        role=r.role,
        at=_utc(r.at),
        window_start=_utc(r.window_start),
        count=r._mapping["count"],
        threshold=r.threshold,
        entry_seq=r.entry_seq,
        message=r.message,
    )
    if r.acknowledged:  # a marker until the notes are read (``_with_acknowledgements``)
        marker = Acknowledgement(r.id, "", alert.at, "")
        return replace(alert, acknowledgements=(marker,))
    return alert


class SqlMonitoringWindows:
    """The MonitoringWindows port on the database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def session(self, caller_ids: Collection[str]) -> Iterator[_SqlWindowSession]:
        ids = sorted(set(caller_ids))  # one order for every process: no deadlock
        with self.engine.begin() as conn:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            fresh = [
                {
                    "caller_id": c,
                    "hour": None,
                    "hour_alerted": False,
                    "denies": "[]",
                    "in_burst": False,
                    "last_deny": None,
                    "off_hours_day": "",
                }
                for c in ids
            ]
            if fresh:  # the first statement writes: SQLite takes its one writer's lock here
                conn.execute(dialect.insert(monitoring_windows).on_conflict_do_nothing(), fresh)
            w = monitoring_windows.c
            stmt = select(monitoring_windows).where(among(conn.dialect.name, w.caller_id, ids))
            if conn.dialect.name == "postgresql":
                stmt = stmt.with_for_update()
            loaded = {r.caller_id: _window(r) for r in conn.execute(stmt)} if ids else {}
            session = _SqlWindowSession(
                conn,
                {c: replace(x) for c, x in loaded.items()},
                {c: x.hour for c, x in loaded.items()},
            )
            yield session
            for caller, window in session.windows.items():
                if window != loaded.get(caller):
                    conn.execute(
                        update(monitoring_windows)
                        .where(w.caller_id == caller)
                        .values(**_row(window))
                    )


class _SqlWindowSession:
    def __init__(
        self,
        conn: Connection,
        windows: dict[str, CallerWindow],
        hours: dict[str, datetime | None],
    ) -> None:
        self.conn = conn
        self.windows = windows
        self._hours = hours  # each caller's stored hour: the hours before it were dropped then

    def window(self, caller_id: str) -> CallerWindow:
        return self.windows[caller_id]

    def count(self, caller_id: str, hour: datetime, refs: Sequence[str]) -> int:
        s = monitoring_subjects.c
        at = _utc(hour)
        stored = self._hours.get(caller_id)
        if stored is None or _utc(stored) != at:  # a new hour: the hours before it are over
            self.conn.execute(
                delete(monitoring_subjects).where(s.caller_id == caller_id, s.hour < at)
            )
            self._hours[caller_id] = at
        dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        rows = [{"caller_id": caller_id, "hour": at, "subject_ref": r} for r in dict.fromkeys(refs)]
        if rows:
            self.conn.execute(dialect.insert(monitoring_subjects).on_conflict_do_nothing(), rows)
        counted = select(func.count()).where(s.caller_id == caller_id, s.hour == at)
        return int(self.conn.execute(counted).scalar_one())


def _window(r: Row[Any]) -> CallerWindow:
    return CallerWindow(
        hour=_opt_utc(r.hour),
        hour_alerted=bool(r.hour_alerted),
        denies=[datetime.fromisoformat(d) for d in json.loads(r.denies)],
        in_burst=bool(r.in_burst),
        last_deny=_opt_utc(r.last_deny),
        off_hours_day=r.off_hours_day,
    )


def _row(w: CallerWindow) -> dict[str, Any]:
    return {
        "hour": _opt_utc(w.hour),
        "hour_alerted": w.hour_alerted,
        "denies": json.dumps([_utc(d).isoformat() for d in w.denies]),
        "in_burst": w.in_burst,
        "last_deny": _opt_utc(w.last_deny),
        "off_hours_day": w.off_hours_day,
    }
