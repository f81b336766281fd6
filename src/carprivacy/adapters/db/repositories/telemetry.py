"""SQL side of ingestion (SQLite and PostgreSQL): the telemetry store, the vehicle directory and
the per-vehicle credentials.

The store's hot path skips the ORM: on SQLite one ``executemany`` of
``INSERT ... ON CONFLICT DO NOTHING``; on PostgreSQL one binary ``COPY``. Telemetry and quarantine
rows are written in the same transaction, which has committed when ``store`` returns. When a
natural key was already taken (a redelivery, a repeat within the batch, or a conflicting value)
nothing is written: the store rolls back and reports those keys with the values stored under
them, and the service, which tells a redelivery from a conflict, stores the batch again with them
set aside. The store never calls back into the service.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import psycopg
from sqlalchemy import (
    Connection,
    Engine,
    String,
    any_,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY

from carprivacy.adapters.db.tables.master import vehicle_usages, vehicles
from carprivacy.adapters.db.tables.telemetry import (
    telemetry,
    telemetry_quarantine,
    vehicle_credentials,
)
from carprivacy.domain.errors import ConflictError
from carprivacy.domain.telemetry import (
    QuarantineRow,
    StoredReading,
    StoredValue,
    TelemetryRow,
    TelemetryWindow,
    reasons_from_json,
    reasons_json,
)
from carprivacy.domain.vehicle_usage import UsageKind, VehicleUsage
from carprivacy.services.ingestion.ports import StoreOutcome, VehicleInfo

COLUMNS = (
    "vehicle_id",
    "subject_id",
    "fleet_id",
    "key_owner",
    "signal",
    "category",
    "unit",
    "value",
    "value_ciphertext",
    "ts",
    "received_at",
    "source",
    "purposes",
    "expires_at",
)


# binary COPY: the wire types of COLUMNS (varchar receives as text)
PG_COPY_TYPES = [
    *(["text"] * 8),
    "bytea",
    "timestamptz",
    "timestamptz",
    "text",
    "text",
    "timestamptz",
]


def utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _sqlite_time(value: datetime | None) -> str | None:
    """SQLAlchemy's SQLite DATETIME storage format, from a UTC instant."""
    if value is None:
        return None
    v = value.astimezone(UTC)
    return (
        f"{v.year:04d}-{v.month:02d}-{v.day:02d} "
        f"{v.hour:02d}:{v.minute:02d}:{v.second:02d}.{v.microsecond:06d}"
    )


class _SqliteTimes(dict[datetime | None, str | None]):
    """datetime -> ``_sqlite_time`` text, computed once per distinct value."""

    def __missing__(self, value: datetime | None) -> str | None:
        text = self[value] = _sqlite_time(value)
        return text


class _PurposesJson(dict[tuple[str, ...], str]):
    """Purposes -> the JSON text stored, computed once per distinct tuple."""

    def __missing__(self, purposes: tuple[str, ...]) -> str:
        text = self[purposes] = json.dumps(list(purposes))
        return text


class _TakenKeysError(ConflictError):  # a signal within ``store``, never raised out of it
    """Some natural keys of the batch are taken: roll back, report them."""

    def __init__(self, found: Mapping[int, StoredValue]) -> None:
        self.found = found


class SqlTelemetryRepository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._pg = engine.dialect.name == "postgresql"
        self._purposes_json = _PurposesJson()

    def store(
        self,
        rows: Sequence[TelemetryRow],
        quarantine: Sequence[QuarantineRow],
        taken: Collection[int] = (),
    ) -> StoreOutcome:
        """``rows`` but those at the positions ``taken``, and ``quarantine``, in one transaction,
        committed when every row written is new (the common case). Otherwise nothing is written
        and the outcome names the positions whose key is taken, with the values stored under
        them (see ``TelemetryRepository.store``)."""
        if len(taken) >= len(rows) and not quarantine:
            return StoreOutcome(True)
        try:
            with self._engine.begin() as conn:
                self._store(conn, rows, quarantine, taken)
        except _TakenKeysError as refused:  # rolled back: nothing of the batch is written
            return StoreOutcome(False, refused.found)
        return StoreOutcome(True)

    def _store(
        self,
        conn: Connection,
        rows: Sequence[TelemetryRow],
        quarantine: Sequence[QuarantineRow],
        taken: Collection[int],
    ) -> None:
        if len(taken) < len(rows):
            store = self._store_pg if self._pg else self._store_sqlite
            found = store(conn, rows, taken)
            if found:
                raise _TakenKeysError(found)
        if quarantine:
            conn.execute(
                insert(telemetry_quarantine),
                [
                    {
                        "source": q.source,
                        "vehicle_id": q.vehicle_id,
                        "record_index": q.record_index,
                        "reasons": reasons_json(q.reasons),
                        "key_owner": q.key_owner,
                        "payload_ciphertext": q.payload_ciphertext,
                        "received_at": q.received_at,
                        "expires_at": q.expires_at,
                    }
                    for q in quarantine
                ],
            )

    def _store_sqlite(
        self, conn: Connection, rows: Sequence[TelemetryRow], taken: Collection[int]
    ) -> dict[int, StoredValue]:
        """One ``executemany`` under a savepoint; when it inserted fewer rows than given (a
        redelivery), roll back to the savepoint and insert row by row to learn which keys were
        taken and what is stored under them (the caller then rolls back the transaction)."""
        sql = (
            f"INSERT INTO telemetry ({', '.join(COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(COLUMNS))}) ON CONFLICT DO NOTHING"
        )
        stored_sql = (
            "SELECT value, value_ciphertext, key_owner FROM telemetry "
            "WHERE ts = ? AND vehicle_id = ? AND signal = ? AND source = ?"
        )
        when = _SqliteTimes()  # per batch: most rows share their times with others
        purposes = self._purposes_json
        params = [
            (*r[:9], when[r[9]], when[r[10]], r[11], purposes[r[12]], when[r[13]]) for r in rows
        ]
        at = list(range(len(rows)))  # each param's position in ``rows``
        if taken:
            at = [p for p in at if p not in taken]
            params = [params[p] for p in at]
        raw: Any = conn.connection.driver_connection
        cursor = raw.cursor()
        try:
            if not raw.in_transaction:
                cursor.execute("BEGIN")  # else the savepoint's release would commit
            cursor.execute("SAVEPOINT telemetry_batch")
            cursor.executemany(sql, params)
            if cursor.rowcount == len(params):
                cursor.execute("RELEASE SAVEPOINT telemetry_batch")
                return {}
            cursor.execute("ROLLBACK TO SAVEPOINT telemetry_batch")
            cursor.execute("RELEASE SAVEPOINT telemetry_batch")
            stored: dict[int, StoredValue] = {}
            for position, param in zip(at, params, strict=True):
                cursor.execute(sql, param)
                if cursor.rowcount == 0:
                    cursor.execute(stored_sql, (param[9], param[0], param[4], param[11]))
                    value, ciphertext, owner = cursor.fetchone()
                    ct = None if ciphertext is None else bytes(ciphertext)
                    stored[position] = StoredValue(value, ct, owner)
            return stored
        finally:
            cursor.close()

    def _copy(self, cur: Any, table: str, rows: Sequence[TelemetryRow]) -> None:
        cols = ", ".join(COLUMNS)
        with cur.copy(f"COPY {table} ({cols}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(PG_COPY_TYPES)
            purposes = self._purposes_json
            write = copy.write_row
            for r in rows:
                write((*r[:12], purposes[r[12]], r[13]))

    def _store_pg(
        self, conn: Connection, rows: Sequence[TelemetryRow], taken: Collection[int]
    ) -> dict[int, StoredValue]:
        """Binary COPY straight into ``telemetry`` under a savepoint. A taken key (unique
        violation) rolls back to the savepoint; the batch's keys are then COPYed into a temporary
        staging table and one join reads what is stored under them (the caller then rolls back
        the transaction)."""
        raw: Any = conn.connection.driver_connection
        cols = ", ".join(COLUMNS)
        candidates = [(p, r) for p, r in enumerate(rows) if p not in taken] if taken else None
        with raw.cursor() as cur:
            cur.execute("SAVEPOINT telemetry_copy")
            try:
                self._copy(
                    cur, "telemetry", rows if candidates is None else [r for _, r in candidates]
                )
            except psycopg.errors.UniqueViolation:
                cur.execute("ROLLBACK TO SAVEPOINT telemetry_copy")
            else:
                cur.execute("RELEASE SAVEPOINT telemetry_copy")
                return {}
            cur.execute(
                "CREATE TEMP TABLE IF NOT EXISTS telemetry_stage ON COMMIT DELETE ROWS AS "
                f"SELECT {cols} FROM telemetry WITH NO DATA"
            )
            # the first row of each key: a repeat within ``rows`` is a duplicate of the first
            firsts: dict[tuple[str, str, datetime, str], TelemetryRow] = {}
            for _, r in candidates or enumerate(rows):
                firsts.setdefault((r.vehicle_id, r.signal, r.ts, r.source), r)
            self._copy(cur, "telemetry_stage", list(firsts.values()))
            cur.execute(
                "SELECT t.vehicle_id, t.signal, t.ts, t.source, t.value, t.value_ciphertext, "
                "t.key_owner FROM telemetry t JOIN (SELECT DISTINCT ts, vehicle_id, signal, "
                "source FROM telemetry_stage) s USING (ts, vehicle_id, signal, source)"
            )
            by_key: dict[tuple[str, str, datetime, str], StoredValue] = {
                (v, s, utc(t), src): StoredValue(value, None if ct is None else bytes(ct), owner)
                for v, s, t, src, value, ct, owner in cur.fetchall()
            }
            cur.execute("DELETE FROM telemetry_stage")
        stored: dict[int, StoredValue] = {}
        seen: set[tuple[str, str, datetime, str]] = set()
        for position, r in candidates or enumerate(rows):
            key = (r.vehicle_id, r.signal, r.ts, r.source)
            if key in by_key:
                stored[position] = by_key[key]
            elif key in seen:
                first = firsts[key]
                stored[position] = StoredValue(first.value, first.value_ciphertext, first.key_owner)
            seen.add(key)
        return stored

    # --- reads (tests, CarData views, retention) -------------------------------------------
    def count(self) -> int:
        with self._engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(telemetry)).scalar_one())

    def rows_for_vehicle(self, vehicle_id: str) -> list[TelemetryRow]:
        query = (
            select(telemetry)
            .where(telemetry.c.vehicle_id == vehicle_id)
            .order_by(telemetry.c.ts, telemetry.c.signal)
        )
        with self._engine.connect() as conn:
            return [self._row(m) for m in conn.execute(query).mappings()]

    def window(
        self, window: TelemetryWindow, after: tuple[datetime, int] | None, limit: int
    ) -> list[StoredReading]:
        """Up to ``limit`` stored values of ``window`` after the position ``after`` (ts, id), in
        (ts, id) order: one range scan of ``ix_telemetry_vehicle_ts`` or
        ``ix_telemetry_subject_ts``, on the driver's cursor (as ``store`` writes: no result
        processing per row; each time is parsed once, SQLite's as ISO text with its offset)."""
        sql, params = self._window_sql(window, after, limit)
        with self._engine.connect() as conn:
            raw: Any = conn.connection.driver_connection
            cursor = raw.cursor()
            try:
                cursor.execute(sql, params)
                rows = cursor.fetchall()
            finally:
                cursor.close()
            in_utc = self._pg and raw.info.timezone is UTC  # make_engine's sessions are
        make = StoredReading._make  # from a tuple: no keyword handling per row
        if in_utc:  # timestamptz in a UTC session: datetime.UTC already
            return [make(row) for row in rows]
        if self._pg:  # timestamptz: aware, in the session's time zone
            return [
                make((i, v, sub, fleet, owner, sig, cat, unit, value, ct, ts.astimezone(UTC), src,
                      exp if exp is None else exp.astimezone(UTC)))
                for i, v, sub, fleet, owner, sig, cat, unit, value, ct, ts, src, exp in rows
            ]  # fmt: skip
        when = datetime.fromisoformat  # SQLite: the text with its offset (see _window_sql)
        return [
            make((i, v, sub, fleet, owner, sig, cat, unit, value, ct, when(ts), src,
                  exp if exp is None else when(exp)))
            for i, v, sub, fleet, owner, sig, cat, unit, value, ct, ts, src, exp in rows
        ]  # fmt: skip

    def _window_sql(
        self, window: TelemetryWindow, after: tuple[datetime, int] | None, limit: int
    ) -> tuple[str, list[Any]]:
        """The statement of ``window`` and its parameters, in the driver's paramstyle."""
        pg = self._pg
        mark = "%s" if pg else "?"
        time: Any = utc if pg else _sqlite_time  # a bound time: aware, or SQLite's text

        def among(column: str, values: tuple[str, ...]) -> str:
            if pg:
                params.append(list(values))
                return f"{column} = ANY({mark})"
            params.extend(values)
            return f"{column} IN ({', '.join(mark * len(values))})"

        params: list[Any] = []
        if window.vehicle_id is not None:
            where = [f"vehicle_id = {mark}"]
            params.append(window.vehicle_id)
            if window.subject_id is not None:  # the subject's part of the vehicle
                where.append(f"subject_id = {mark}")
                params.append(window.subject_id)
        elif window.subject_id is not None:
            where = [f"subject_id = {mark}"]
            params.append(window.subject_id)
        else:
            raise ValueError("a telemetry window names its vehicle or its subject")
        if window.start is not None:
            where.append(f"ts >= {mark}")
            params.append(time(window.start))
        if window.end is not None:
            where.append(f"ts < {mark}")
            params.append(time(window.end))
        if window.signals:
            where.append(among("signal", window.signals))
        if window.categories:
            where.append(among("category", window.categories))
        if window.live_at is not None:
            where.append(f"(expires_at IS NULL OR expires_at > {mark})")
            params.append(time(window.live_at))
        # a row value: a range of the index, not a filter from its start
        if after is not None:
            where.append(f"(ts, id) {'<' if window.newest_first else '>'} ({mark}, {mark})")
            params.extend((time(after[0]), after[1]))
        params.append(limit)
        order = "ts DESC, id DESC" if window.newest_first else "ts, id"
        # SQLite holds times as UTC text without an offset: read them with one
        ts, expires = ("ts", "expires_at") if pg else ("ts || '+00:00'", "expires_at || '+00:00'")
        sql = (
            "SELECT id, vehicle_id, subject_id, fleet_id, key_owner, signal, category, unit, "
            f"value, value_ciphertext, {ts}, source, {expires} FROM telemetry "
            f"WHERE {' AND '.join(where)} ORDER BY {order} LIMIT {mark}"
        )
        return sql, params

    def quarantine(self) -> list[QuarantineRow]:
        """Every quarantine row, oldest first."""
        return [row for _, row in self.quarantine_recent(None)][::-1]

    def quarantine_recent(
        self,
        limit: int | None,
        *,
        source: str | None = None,
        rule: str | None = None,
        since: datetime | None = None,
    ) -> list[tuple[int, QuarantineRow]]:
        """(id, row) of the newest ``limit`` quarantine rows (all with None), newest first;
        only those of ``source``, with a reason of ``rule``, received at or after ``since``."""
        q = telemetry_quarantine.c
        query = select(telemetry_quarantine).order_by(q.id.desc())
        if source is not None:
            query = query.where(q.source == source)
        if rule is not None:  # reasons_json writes '"rule":"<rule>"' without spaces
            pattern = json.dumps({"rule": rule}, separators=(",", ":"))[1:-1]
            # a case-sensitive substring test on both (SQLite's LIKE ignores case)
            found = func.strpos(q.reasons, pattern) if self._pg else func.instr(q.reasons, pattern)
            query = query.where(found > 0)
        if since is not None:
            query = query.where(q.received_at >= utc(since))  # SQLite drops an offset
        if limit is not None:
            query = query.limit(limit)
        with self._engine.connect() as conn:
            return [(int(m["id"]), _quarantine_row(m)) for m in conn.execute(query).mappings()]

    def quarantine_counts(self) -> dict[str, int]:
        """Quarantine rows per source."""
        q = telemetry_quarantine.c
        query = select(q.source, func.count()).group_by(q.source).order_by(q.source)
        with self._engine.connect() as conn:
            return {source: int(n) for source, n in conn.execute(query).all()}

    @staticmethod
    def _row(m: Any) -> TelemetryRow:
        ct = m["value_ciphertext"]
        return TelemetryRow(
            vehicle_id=m["vehicle_id"],
            subject_id=m["subject_id"],
            fleet_id=m["fleet_id"],
            key_owner=m["key_owner"],
            signal=m["signal"],
            category=m["category"],
            unit=m["unit"],
            value=m["value"],
            value_ciphertext=None if ct is None else bytes(ct),
            ts=utc(m["ts"]),
            received_at=utc(m["received_at"]),
            source=m["source"],
            purposes=tuple(json.loads(m["purposes"])),
            expires_at=None if m["expires_at"] is None else utc(m["expires_at"]),
        )


def _quarantine_row(m: Any) -> QuarantineRow:
    return QuarantineRow(
        source=m["source"],
        vehicle_id=m["vehicle_id"],
        record_index=m["record_index"],
        reasons=reasons_from_json(m["reasons"]),
        key_owner=m["key_owner"],
        payload_ciphertext=bytes(m["payload_ciphertext"]),
        received_at=utc(m["received_at"]),
        expires_at=utc(m["expires_at"]),
    )


class SqlVehicleDirectory:
    """Vehicles and their usage periods from the master-data tables: one query per batch (the
    vehicles outer-joined with their usages; on PostgreSQL the VINs go as one array parameter,
    so the statement text is the same for every batch)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._usages: dict[Any, VehicleUsage] = {}
        v, u = vehicles.c, vehicle_usages.c
        if engine.dialect.name == "postgresql":
            wanted = v.vin == any_(bindparam("vins", type_=ARRAY(String)))
        else:
            wanted = v.vin.in_(bindparam("vins", expanding=True))
        self._query = (
            select(
                v.id,
                v.vin,
                v.end_of_life,
                u.id.label("usage_id"),
                u.kind,
                u.customer_id,
                u.fleet_id,
                u.starts_at,
                u.ends_at,
                u.created_at,
            )
            .select_from(vehicles.outerjoin(vehicle_usages, u.vehicle_id == v.id))
            .where(wanted)
        )

    def by_vins(self, vins: Collection[str]) -> dict[str, VehicleInfo]:
        wanted = sorted({v for v in vins if isinstance(v, str) and len(v) <= 17})
        if not wanted:
            return {}
        with self._engine.connect() as conn:
            found = conn.execute(self._query, {"vins": wanted}).all()
        info: dict[str, tuple[str, date | None]] = {}
        usages: dict[str, list[VehicleUsage]] = {}
        for f in found:
            if f.vin not in info:
                eol = f.end_of_life if isinstance(f.end_of_life, date) else None
                info[f.vin] = (f.id, eol)
                usages[f.vin] = []
            if f.usage_id is not None:
                usage = self._usages.get(f)
                if usage is None:
                    usage = self._usage(f)
                usages[f.vin].append(usage)
        return {
            vin: VehicleInfo(vid, vin, eol, tuple(usages[vin])) for vin, (vid, eol) in info.items()
        }

    def _usage(self, f: Any) -> VehicleUsage:
        """The usage period of a result row, kept per row (all its columns): the next batches of
        the same vehicles build nothing."""
        if len(self._usages) >= 100_000:
            self._usages.clear()
        usage = self._usages[f] = VehicleUsage(
            id=f.usage_id,
            vehicle_id=f.id,
            kind=UsageKind(f.kind),
            customer_id=f.customer_id,
            fleet_id=f.fleet_id,
            start=utc(f.starts_at),
            end=None if f.ends_at is None else utc(f.ends_at),
            created_at=utc(f.created_at),
        )
        return usage


class SqlVehicleCredentialRepository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        # built once: the look-up of every ingestion turn (on PostgreSQL the hashes go as one
        # array parameter, so the statement text is the same for every turn)
        c = vehicle_credentials.c
        if engine.dialect.name == "postgresql":
            wanted = c.token_sha256 == any_(bindparam("hashes", type_=ARRAY(String)))
        else:
            wanted = c.token_sha256.in_(bindparam("hashes", expanding=True))
        self._vins_query = (
            select(c.token_sha256, vehicles.c.vin)
            .select_from(vehicle_credentials.join(vehicles))
            .where(wanted, c.revoked_at.is_(None))
        )

    def add(self, credential_id: str, vehicle_id: str, token_sha256: str, at: datetime) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                insert(vehicle_credentials).values(
                    id=credential_id,
                    vehicle_id=vehicle_id,
                    token_sha256=token_sha256,
                    created_at=at,
                )
            )

    def vin_for(self, token_sha256: str) -> str | None:
        query = (
            select(vehicles.c.vin)
            .select_from(vehicle_credentials.join(vehicles))
            .where(
                vehicle_credentials.c.token_sha256 == token_sha256,
                vehicle_credentials.c.revoked_at.is_(None),
            )
        )
        with self._engine.connect() as conn:
            vin = conn.execute(query).scalar_one_or_none()
        return None if vin is None else str(vin)

    def vins_for(self, token_sha256s: Collection[str]) -> dict[str, str]:
        if not token_sha256s:
            return {}
        with self._engine.connect() as conn:
            found = conn.execute(self._vins_query, {"hashes": sorted(token_sha256s)})
            return {str(h): str(vin) for h, vin in found}

    def revoke_all(self, vehicle_id: str, at: datetime) -> int:
        with self._engine.begin() as conn:
            result = conn.execute(
                update(vehicle_credentials)
                .where(
                    vehicle_credentials.c.vehicle_id == vehicle_id,
                    vehicle_credentials.c.revoked_at.is_(None),
                )
                .values(revoked_at=at)
            )
        return int(result.rowcount)
