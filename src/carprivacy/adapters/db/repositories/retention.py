"""The retention store and legal holds on SQLite and PostgreSQL (SPEC L1, L2).

Each step of ``domain.retention_steps`` becomes one WHERE clause, the same for counting,
selecting a batch, and the dry run's stream; an active legal hold is a NOT EXISTS over
``legal_holds`` in that clause, read again at every batch. A batch is selected on the step's
index (``expires_at``, the vehicle's period, ``ix_telemetry_identified``, the contract end, the
booking date), then deleted or anonymised by id in one transaction that also rewrites the run's
counts: a process killed at any point leaves whole batches and a run record that matches them.

The run lock dies with its holder: a ``flock`` on ``<database>.retention-lock`` for SQLite, a
session advisory lock (per schema) for PostgreSQL.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    Connection,
    Engine,
    Select,
    String,
    and_,
    any_,
    bindparam,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    text,
    type_coerce,
)

from carprivacy.adapters.db import partitions
from carprivacy.adapters.db.repositories import retention_partitions
from carprivacy.adapters.db.repositories.sealing import from_db_time, to_db_time
from carprivacy.adapters.db.tables.master import contracts, payment_transactions, vehicles
from carprivacy.adapters.db.tables.retention import legal_holds, retention_runs
from carprivacy.adapters.db.tables.telemetry import telemetry, telemetry_quarantine
from carprivacy.domain.errors import RetentionRunInProgressError
from carprivacy.domain.legal_holds import LegalHold
from carprivacy.domain.policy import RetentionAnchor
from carprivacy.domain.retention import ExpiredAnchors
from carprivacy.domain.retention_run import (
    Counts,
    RetentionRun,
    RunStatus,
    counts_from_json,
    counts_to_json,
)
from carprivacy.domain.retention_steps import RetentionStep, RetentionTable, StepKind
from carprivacy.services.retention.ports import ExpiredPartition, ExpiredRow

_MEMORY_LOCK = threading.Lock()
_ANCHOR_COLUMNS = {
    RetentionTable.CONTRACTS: {
        RetentionAnchor.CONTRACT_END: contracts.c.ends_at,
        RetentionAnchor.COLLECTED: contracts.c.created_at,
    },
    RetentionTable.PAYMENTS: {
        RetentionAnchor.TRANSACTION_DATE: payment_transactions.c.booked_at,
        RetentionAnchor.COLLECTED: payment_transactions.c.created_at,
    },
}


def _held(
    subject: ColumnElement[Any] | None,
    vehicle: ColumnElement[Any] | None,
    category: ColumnElement[Any] | str,
) -> ColumnElement[bool]:
    """An active hold covers the row: its subject, vehicle and category each unset or equal."""
    h = legal_holds.c
    cat = literal(category) if isinstance(category, str) else category
    return exists().where(
        h.released_at.is_(None),
        or_(h.subject_id.is_(None), h.subject_id == subject) if subject is not None else true_(),
        or_(h.vehicle_id.is_(None), h.vehicle_id == vehicle) if vehicle is not None else true_(),
        or_(h.category.is_(None), h.category == cat),
    )


def true_() -> ColumnElement[bool]:
    return not_(false())


def _in(column: ColumnElement[Any], expired: ExpiredAnchors) -> ColumnElement[bool]:
    """The column's value is in one of the intervals (each a range on the column's index)."""
    if not expired.intervals:
        return false()
    return or_(
        *(
            column <= to_db_time(hi)
            if lo is None
            else and_(column >= to_db_time(lo), column <= to_db_time(hi))
            for lo, hi in expired.intervals
        )
    )


def _end_of_life(step: RetentionStep) -> ColumnElement[bool]:
    t = telemetry.c
    assert step.end_of_life_cutoff is not None
    parts = [
        t.expires_at.is_(None),
        t.category == step.category,
        t.vehicle_id.in_(
            select(vehicles.c.id).where(vehicles.c.end_of_life <= step.end_of_life_cutoff)
        ),
    ]
    if step.ts_expired is not None:
        parts.append(_in(t.ts, step.ts_expired))
    return and_(*parts)


def _where(step: RetentionStep, holds: bool = True) -> tuple[Any, ColumnElement[bool], Any]:
    """(table, the step's selection with legal holds excluded, the order of a batch).
    ``holds`` False: no hold is active, the NOT EXISTS is left out (it costs a probe a row)."""
    table, where, order = _selection(step)
    if holds:
        where = and_(where, not_(_hold_of(step)))
    return table, where, order


def _hold_of(step: RetentionStep) -> ColumnElement[bool]:
    """An active hold covers the row of the step's table."""
    h = legal_holds.c
    if step.table is RetentionTable.TELEMETRY:
        t = telemetry.c
        return _held(t.subject_id, t.vehicle_id, t.category)
    if step.table is RetentionTable.QUARANTINE:
        q = telemetry_quarantine.c
        return exists().where(
            h.released_at.is_(None),
            or_(h.subject_id.is_(None), literal("subject:") + h.subject_id == q.key_owner),
            or_(h.vehicle_id.is_(None), h.vehicle_id == q.vehicle_id),
        )
    if step.table is RetentionTable.CONTRACTS:
        c = contracts.c
        return _held(c.customer_id, c.vehicle_id, "contract")
    p = payment_transactions.c
    return exists().where(
        h.released_at.is_(None),
        or_(h.subject_id.is_(None), h.subject_id == p.customer_id),
        or_(
            h.vehicle_id.is_(None),
            exists().where(contracts.c.id == p.contract_id, contracts.c.vehicle_id == h.vehicle_id),
        ),
        or_(h.category.is_(None), h.category == "financial_transactions"),
    )


def _selection(step: RetentionStep) -> tuple[Any, ColumnElement[bool], Any]:
    now = to_db_time(step.now)
    if step.table is RetentionTable.TELEMETRY:
        t = telemetry.c
        if step.kind is StepKind.STAMPED:
            return telemetry, t.expires_at <= now, t.expires_at
        if step.kind is StepKind.END_OF_LIFE:
            return telemetry, _end_of_life(step), t.ts
        assert step.kind is StepKind.IDENTIFIED_END and step.ts_expired is not None
        parts = [
            t.subject_id.isnot(None),
            t.category == step.category,
            _in(t.ts, step.ts_expired),
            or_(t.expires_at.is_(None), t.expires_at > now),
        ]
        if step.excluded is not None:
            parts.append(not_(_end_of_life(step.excluded)))
        return telemetry, and_(*parts), t.ts
    if step.table is RetentionTable.QUARANTINE:
        q = telemetry_quarantine.c
        return telemetry_quarantine, q.expires_at <= now, q.expires_at
    columns = _ANCHOR_COLUMNS[step.table]
    conditions = [
        and_(columns[a].isnot(None), _in(columns[a], expired)) for a, expired in step.anchors
    ]
    table = contracts if step.table is RetentionTable.CONTRACTS else payment_transactions
    return table, and_(*conditions), columns[step.anchors[0][0]]


def _span_ms(dialect: str) -> ColumnElement[Any]:
    """``expires_at - ts`` in whole milliseconds, computed by the database (SQLite keeps
    fractions of a second to the millisecond in its date functions: stamps are whole days or
    weeks after ``ts``, or an end-of-life date, so nothing is lost that names a rule)."""
    t = telemetry.c
    if dialect == "postgresql":
        return cast(func.round(func.extract("epoch", t.expires_at - t.ts) * 1000), BigInteger)
    return cast(
        func.round((func.julianday(t.expires_at) - func.julianday(t.ts)) * 86_400_000), BigInteger
    )


def _columns(step: RetentionStep, dialect: str, order: Any) -> Select[Any]:
    """What a batch needs of each row, and last the batch order's value (as the driver gives
    it: the next batch starts there)."""
    t = telemetry.c
    sealed = t.value_ciphertext.isnot(None)
    at = type_coerce(order, String())
    if step.table is RetentionTable.TELEMETRY and step.kind is StepKind.STAMPED:
        # what the rule needs, computed by the database: fetching and parsing two times a
        # row would be most of a batch's time; ``ts`` only for calendar rules
        ts: ColumnElement[Any] = (
            case((t.category.in_(sorted(step.calendar_categories)), t.ts), else_=None)
            if step.calendar_categories
            else literal(None)
        )
        return select(
            t.id, t.category, type_coerce(t.purposes, String()), _span_ms(dialect), ts, sealed, at
        )
    if step.table is RetentionTable.TELEMETRY:
        return select(t.id, t.category, sealed, at)
    if step.table is RetentionTable.QUARANTINE:
        return select(telemetry_quarantine.c.id, at)
    table = contracts if step.table is RetentionTable.CONTRACTS else payment_transactions
    return select(table.c.id, at)


class _Purposes(dict[str, tuple[str, ...]]):
    def __missing__(self, text: str) -> tuple[str, ...]:
        found = self[text] = tuple(json.loads(text))
        return found


class _Spans(dict[int, timedelta]):
    def __missing__(self, ms: int) -> timedelta:
        found = self[ms] = timedelta(milliseconds=ms)
        return found


def _ids(column: ColumnElement[Any], ids: Sequence[int | str], dialect: str) -> Any:
    """``column IN ids`` as one bound parameter (a JSON array on SQLite, an array on
    PostgreSQL): compiling thousands of parameters a batch would cost more than the delete."""
    if dialect == "postgresql":
        return column == any_(bindparam("ids", list(ids), type_=ARRAY(column.type)))
    values: Select[Any] = select(literal_column("value")).select_from(
        func.json_each(bindparam("ids", json.dumps(list(ids)), type_=String()))
    )
    return column.in_(values.scalar_subquery())


def _rows(step: RetentionStep, found: Any, purposes: _Purposes, spans: _Spans) -> list[ExpiredRow]:
    if step.table is not RetentionTable.TELEMETRY:
        category = step.category or "quarantine"
        return [ExpiredRow(m[0], category, order=m[1]) for m in found]
    if step.kind is not StepKind.STAMPED:
        return [ExpiredRow(m[0], m[1], sealed=bool(m[2]), order=m[3]) for m in found]
    return [
        ExpiredRow(
            m[0],
            m[1],
            purposes[m[2]],
            spans[int(m[3])],
            None if m[4] is None else from_db_time(m[4]),
            bool(m[5]),
            m[6],
        )
        for m in found
    ]


def _instant(value: Any) -> datetime:
    """A batch order's value as the driver gave it (SQLite: UTC text) as a datetime."""
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return from_db_time(value)


def _run(m: Any) -> RetentionRun:
    return RetentionRun(
        id=m.id,
        as_of=from_db_time(m.as_of),
        started_at=from_db_time(m.started_at),
        status=RunStatus(m.status),
        policy_version=m.policy_version,
        counts=counts_from_json(json.loads(m.counts)),
        finished_at=None if m.finished_at is None else from_db_time(m.finished_at),
    )


class SqlRetentionStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._purposes = _Purposes()
        self._spans = _Spans()

    # -- the lock ----------------------------------------------------------------------------

    @contextmanager
    def run_lock(self) -> Iterator[None]:
        if self.engine.dialect.name == "postgresql":
            with self.engine.connect() as conn:
                key = "hashtext(current_schema() || '.carprivacy.retention')"
                taken = conn.execute(text(f"SELECT pg_try_advisory_lock({key})")).scalar()
                conn.commit()
                if not taken:
                    raise RetentionRunInProgressError("another retention run is in progress")
                try:
                    yield
                finally:
                    conn.execute(text(f"SELECT pg_advisory_unlock({key})"))
                    conn.commit()
            return
        database = self.engine.url.database
        if not database or database == ":memory:":
            if not _MEMORY_LOCK.acquire(blocking=False):
                raise RetentionRunInProgressError("another retention run is in progress")
            try:
                yield
            finally:
                _MEMORY_LOCK.release()
            return
        path = Path(f"{database}.retention-lock")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RetentionRunInProgressError("another retention run is in progress") from None
            yield
        finally:
            os.close(fd)  # closing releases the flock; so does the process's death

    # -- the selections ----------------------------------------------------------------------

    @staticmethod
    def _holds(conn: Connection) -> bool:
        h = legal_holds.c
        return (
            conn.execute(select(h.id).where(h.released_at.is_(None)).limit(1)).first() is not None
        )

    def count(self, step: RetentionStep) -> int:
        with self.engine.connect() as conn:
            table, where, _order = _where(step, self._holds(conn))
            return int(
                conn.execute(select(func.count()).select_from(table).where(where)).scalar_one()
            )

    def select(self, step: RetentionStep, limit: int, since: Any = None) -> list[ExpiredRow]:
        with self.engine.connect() as conn:
            _table, where, order = _where(step, self._holds(conn))
            if since is not None:  # where the last batch ended: dead index entries before it
                where = and_(where, order >= to_db_time(_instant(since)))
            query = _columns(step, self.dialect, order).where(where).order_by(order).limit(limit)
            return _rows(step, conn.execute(query).all(), self._purposes, self._spans)

    def stream(self, step: RetentionStep, batch: int) -> Iterator[list[ExpiredRow]]:
        after: Any = None
        while True:
            with self.engine.connect() as conn:
                table, where, order = _where(step, self._holds(conn))
                ident = table.c.id
                query = _columns(step, self.dialect, order).where(where)
                if after is not None:
                    query = query.where(ident > after)
                found = conn.execute(query.order_by(ident).limit(batch)).all()
                rows = _rows(step, found, self._purposes, self._spans)
            if not rows:
                return
            yield rows
            after = rows[-1].id

    # -- whole time partitions (PostgreSQL) --------------------------------------------------

    def prepare(self, now: datetime) -> None:
        partitions.roll_forward(self.engine, now)

    def expired_partitions(self, step: RetentionStep) -> list[ExpiredPartition]:
        if step.table is not RetentionTable.TELEMETRY or step.kind is not StepKind.STAMPED:
            return []
        if self.dialect != "postgresql":
            return []
        with self.engine.connect() as conn:
            return retention_partitions.expired(conn, step.now, self._holds(conn))

    def drop_partition(
        self,
        run_id: str,
        step: RetentionStep,
        partition: ExpiredPartition,
        counts: Counts,
        at: datetime,
    ) -> bool:
        with self.engine.connect() as conn, conn.begin():
            if not retention_partitions.drop(conn, partition, step.now):
                return False
            self._record(conn, run_id, counts, at)
            return True

    # -- the changes -------------------------------------------------------------------------

    def apply(
        self,
        run_id: str,
        step: RetentionStep,
        delete: Sequence[int | str],
        anonymise: Sequence[int | str],
        counts: Counts,
        at: datetime,
    ) -> None:
        with self.engine.connect() as conn:
            sqlite = self.dialect == "sqlite"
            if sqlite:
                # each batch stays atomic in WAL mode; a power loss may only undo the last
                # batches together with their counts, and the next run redoes them
                conn.exec_driver_sql("PRAGMA synchronous=NORMAL")
                conn.commit()
            try:
                with conn.begin():
                    self._change(conn, step, delete, anonymise)
                    self._record(conn, run_id, counts, at)
            finally:
                if sqlite:
                    conn.exec_driver_sql("PRAGMA synchronous=FULL")
                    conn.commit()

    def _change(
        self,
        conn: Connection,
        step: RetentionStep,
        delete: Sequence[int | str],
        anonymise: Sequence[int | str],
    ) -> None:
        table = step.table
        if table is RetentionTable.TELEMETRY:
            t = telemetry.c
            if delete:
                conn.execute(telemetry.delete().where(_ids(t.id, delete, self.dialect)))
            if anonymise:
                conn.execute(
                    telemetry.update()
                    .where(_ids(t.id, anonymise, self.dialect))
                    .values(
                        subject_id=None,
                        key_owner=literal("vehicle:") + t.vehicle_id,
                        # anonymised at its expiry: kept, no longer dated
                        expires_at=None if step.kind is StepKind.STAMPED else t.expires_at,
                    )
                )
        elif delete:
            target = {
                RetentionTable.QUARANTINE: telemetry_quarantine,
                RetentionTable.CONTRACTS: contracts,
                RetentionTable.PAYMENTS: payment_transactions,
            }[table]
            if table is RetentionTable.CONTRACTS:  # the transactions stay (10 years)
                conn.execute(
                    payment_transactions.update()
                    .where(_ids(payment_transactions.c.contract_id, delete, self.dialect))
                    .values(contract_id=None)
                )
            conn.execute(target.delete().where(_ids(target.c.id, delete, self.dialect)))

    def _record(self, conn: Connection, run_id: str, counts: Counts, at: datetime) -> None:
        conn.execute(
            retention_runs.update()
            .where(retention_runs.c.id == run_id)
            .values(counts=json.dumps(counts_to_json(counts)), heartbeat_at=to_db_time(at))
        )

    # -- the record --------------------------------------------------------------------------

    def start_run(self, run: RetentionRun) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                retention_runs.insert().values(
                    id=run.id,
                    as_of=to_db_time(run.as_of),
                    started_at=to_db_time(run.started_at),
                    heartbeat_at=to_db_time(run.started_at),
                    finished_at=None,
                    status=run.status.value,
                    policy_version=run.policy_version[:64],
                    counts=json.dumps(counts_to_json(Counts(dict(run.counts)))),
                )
            )

    def finish_run(self, run_id: str, status: RunStatus, at: datetime, counts: Counts) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                retention_runs.update()
                .where(retention_runs.c.id == run_id)
                .values(
                    status=status.value,
                    finished_at=to_db_time(at),
                    heartbeat_at=to_db_time(at),
                    counts=json.dumps(counts_to_json(counts)),
                )
            )

    def runs(self, limit: int = 20, status: RunStatus | None = None) -> list[RetentionRun]:
        query = select(retention_runs)
        if status is not None:
            query = query.where(retention_runs.c.status == status.value)
        query = query.order_by(retention_runs.c.started_at.desc(), retention_runs.c.id).limit(limit)
        with self.engine.connect() as conn:
            return [_run(m) for m in conn.execute(query)]


def _hold(m: Any) -> LegalHold:
    return LegalHold(
        id=m.id,
        subject_id=m.subject_id,
        vehicle_id=m.vehicle_id,
        category=m.category,
        reason=m.reason,
        created_by=m.created_by,
        created_at=from_db_time(m.created_at),
        released_at=None if m.released_at is None else from_db_time(m.released_at),
        released_by=m.released_by,
        release_reason=m.release_reason,
    )


class SqlLegalHoldRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, hold: LegalHold) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                legal_holds.insert().values(
                    id=hold.id,
                    subject_id=hold.subject_id,
                    vehicle_id=hold.vehicle_id,
                    category=hold.category,
                    reason=hold.reason,
                    created_by=hold.created_by,
                    created_at=to_db_time(hold.created_at),
                    released_at=None,
                    released_by=None,
                    release_reason=None,
                )
            )

    def get(self, hold_id: str) -> LegalHold | None:
        with self.engine.connect() as conn:
            m = conn.execute(select(legal_holds).where(legal_holds.c.id == hold_id)).first()
        return None if m is None else _hold(m)

    def release(self, hold_id: str, at: datetime, by: str, reason: str) -> bool:
        with self.engine.begin() as conn:
            done = conn.execute(
                legal_holds.update()
                .where(legal_holds.c.id == hold_id, legal_holds.c.released_at.is_(None))
                .values(released_at=to_db_time(at), released_by=by, release_reason=reason)
            )
            return bool(done.rowcount)

    def list(self, active_only: bool = True) -> list[LegalHold]:
        query = select(legal_holds)
        if active_only:
            query = query.where(legal_holds.c.released_at.is_(None))
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(legal_holds.c.created_at, legal_holds.c.id))
            return [_hold(m) for m in rows]
