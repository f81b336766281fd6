"""Erasure in SQL (SQLite and PostgreSQL; SPEC R3): the subject's records as portions, resealing
the kept values, purging the erased rows, and the ``erasures`` records.

Sealed columns use the associated data their repositories use: ``<table>/<column>/<row id>``
(FieldSealer) for master data, callers and automated decisions, the natural key for telemetry.
Every write is one short transaction of at most one batch, so an erasure beside a serving
process holds SQLite's writer lock for one batch at a time, and a kill leaves whole batches only.
On SQLite the purge runs with ``secure_delete`` on, so deleted rows are overwritten with zeros in
the database file (and the pages written to the WAL are the zeroed ones).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    bindparam,
    delete,
    func,
    select,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError

from carprivacy.adapters.db.repositories.sealing import from_db_time, opt_from_db_time, to_db_time
from carprivacy.adapters.db.tables.access import (
    audit_log,
    audit_log_subjects,
    automated_decisions,
    caller_credentials,
    callers,
    email_codes,
    review_requests,
)
from carprivacy.adapters.db.tables.cardata import (
    cardata_clients,
    cardata_containers,
    cardata_grants,
    cardata_refresh_tokens,
)
from carprivacy.adapters.db.tables.erasure import erasures
from carprivacy.adapters.db.tables.master import (
    accounts,
    contracts,
    customers,
    payment_transactions,
    vehicle_usages,
)
from carprivacy.adapters.db.tables.retention import legal_holds
from carprivacy.adapters.db.tables.subject_state import (
    subject_consents,
    subject_ledger,
    subject_objections,
    subject_overrides,
    subject_restrictions,
)
from carprivacy.adapters.db.tables.telemetry import telemetry, telemetry_quarantine
from carprivacy.domain.erasure import ErasureState, Exemption, Portion, Verdict
from carprivacy.domain.errors import ConflictError
from carprivacy.domain.master import subject_owner
from carprivacy.domain.telemetry import aad_for
from carprivacy.services.erasure.ports import ErasureRecord
from carprivacy.services.ports.crypto import KeyResealer

RESEAL_BATCH = 2_000
NAME_ADDRESS = ("surname", "first_name", "street", "house_number", "postal_code", "city", "country")
REACHABILITY = ("email", "phone")
EVIDENCE: tuple[Table, ...] = (
    subject_consents,
    subject_objections,
    subject_overrides,
    subject_restrictions,
    subject_ledger,
)


class SqlErasureStore:
    def __init__(self, engine: Engine | Callable[[], Engine]) -> None:
        """``engine``, or a function that makes it on first use (nothing connects before)."""
        self._engine = engine

    @property
    def engine(self) -> Engine:
        if not isinstance(self._engine, Engine):
            self._engine = self._engine()
        return self._engine

    # -- reading the subject ------------------------------------------------------------------

    def subject_exists(self, subject_id: str) -> bool:
        with self.engine.connect() as conn:
            found = conn.execute(select(customers.c.id).where(customers.c.id == subject_id))
            return found.first() is not None

    def portions(self, subject_id: str, subject_ref: str, account_owner: str) -> list[Portion]:
        out: list[Portion] = []
        with self.engine.connect() as conn:

            def count(table: Table, *where: Any) -> int:
                return int(
                    conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()
                )

            n = count(customers, customers.c.id == subject_id)
            if n:
                out.append(Portion("customers", "contact", n))
            for row in conn.execute(
                select(accounts.c.id, accounts.c.controller).where(
                    accounts.c.customer_id == subject_id
                )
            ):
                out.append(
                    Portion("accounts", "account", 1, controller=row.controller, row_id=row.id)
                )
            for table in (vehicle_usages, contracts):
                n = count(table, table.c.customer_id == subject_id)
                if n:
                    out.append(Portion(table.name, "contract", n))
            for row in conn.execute(
                select(payment_transactions.c.id, payment_transactions.c.booked_at).where(
                    payment_transactions.c.customer_id == subject_id
                )
            ):
                out.append(
                    Portion(
                        "payment_transactions",
                        "financial_transactions",
                        1,
                        row_id=row.id,
                        anchor=from_db_time(row.booked_at),
                    )
                )
            n = count(callers, callers.c.subject_id == subject_id)
            if n:
                out.append(Portion("callers", "account", n, controller=account_owner))
            t = telemetry.c
            for row in conn.execute(
                select(t.vehicle_id, t.category, func.count().label("n"))
                .where(t.subject_id == subject_id)
                .group_by(t.vehicle_id, t.category)
            ).all():
                out.append(
                    Portion("telemetry", row.category, int(row.n), vehicle_id=row.vehicle_id)
                )
            q = telemetry_quarantine.c
            n = count(telemetry_quarantine, q.key_owner == subject_owner(subject_id))
            if n:
                out.append(
                    Portion("telemetry_quarantine", "quarantine", n, controller=account_owner)
                )
            n = count(automated_decisions, automated_decisions.c.subject_id == subject_id)
            if n:
                out.append(Portion("automated_decisions", "automated_decisions", n))
            for table in EVIDENCE:
                n = count(table, table.c.subject_id == subject_id)
                if n:
                    out.append(Portion(table.name, "evidence", n, fixed=Exemption.ACCOUNTABILITY))
            n = count(legal_holds, legal_holds.c.subject_id == subject_id)
            if n:
                out.append(Portion("legal_holds", "evidence", n, fixed=Exemption.LEGAL_CLAIMS))
            if subject_ref:
                n = count(audit_log, audit_log.c.subject_ref == subject_ref)
                n += count(audit_log_subjects, audit_log_subjects.c.subject_ref == subject_ref)
                if n:
                    out.append(Portion("audit_log", "audit", n, fixed=Exemption.AUDIT_LOG))
        return out

    # -- resealing what is kept ---------------------------------------------------------------

    def reseal(
        self, subject_id: str, kept: Sequence[Verdict], successor: str, cipher: KeyResealer
    ) -> int:
        owner = subject_owner(subject_id)
        moved = 0
        for v in kept:
            p = v.portion
            if p.table == "customers":
                columns = NAME_ADDRESS if p.part == "name_address" else NAME_ADDRESS + REACHABILITY
                moved += self._reseal_rows(
                    customers, columns, customers.c.id == subject_id, owner, successor, cipher
                )
            elif p.table == "accounts":
                moved += self._reseal_rows(
                    accounts, ("login_id",), accounts.c.id == p.row_id, owner, successor, cipher
                )
            elif p.table == "payment_transactions":
                where = payment_transactions.c.id == p.row_id
                moved += self._reseal_rows(
                    payment_transactions, ("method_details",), where, owner, successor, cipher
                )
            elif p.table == "callers":
                moved += self._reseal_rows(
                    callers,
                    ("email_ciphertext",),
                    callers.c.subject_id == subject_id,
                    owner,
                    successor,
                    cipher,
                    place=lambda row_id, _col: f"callers/email/{row_id}".encode(),
                )
            elif p.table == "automated_decisions":
                ad = automated_decisions
                moved += self._reseal_rows(
                    ad, ("inputs",), ad.c.subject_id == subject_id, owner, successor, cipher
                )
                decided = select(ad.c.id).where(ad.c.subject_id == subject_id)
                moved += self._reseal_rows(
                    review_requests,
                    ("reason", "note"),
                    review_requests.c.decision_id.in_(decided),
                    owner,
                    successor,
                    cipher,
                )
            elif p.table == "telemetry":
                moved += self._reseal_telemetry(subject_id, p, owner, successor, cipher)
        return moved

    def _reseal_rows(
        self,
        table: Table,
        columns: Sequence[str],
        where: Any,
        owner: str,
        successor: str,
        cipher: KeyResealer,
        place: Any = None,
    ) -> int:
        def aad(row_id: str, column: str) -> bytes:
            if place is not None:
                out: bytes = place(row_id, column)
                return out
            return f"{table.name}/{column}/{row_id}".encode()

        moved = 0
        after = ""
        key = table.c.id
        while True:
            with self.engine.begin() as conn:
                rows = conn.execute(
                    select(key, *(table.c[c] for c in columns))
                    .where(where, key > after)
                    .order_by(key)
                    .limit(RESEAL_BATCH)
                ).all()
                if not rows:
                    return moved
                for row in rows:
                    values: dict[str, bytes] = {}
                    for i, column in enumerate(columns, start=1):
                        blob = row[i]
                        if blob is None or cipher.sealed_under(owner, bytes(blob)) == successor:
                            continue
                        values[column] = cipher.reseal(
                            owner, bytes(blob), aad(row[0], column), successor
                        )
                    if values:
                        conn.execute(update(table).where(key == row[0]).values(**values))
                        moved += len(values)
                after = rows[-1][0]

    def _reseal_telemetry(
        self, subject_id: str, p: Portion, owner: str, successor: str, cipher: KeyResealer
    ) -> int:
        t = telemetry.c
        moved = 0
        stmt = (
            update(telemetry)
            .where(t.id == bindparam("i"))
            .values(value_ciphertext=bindparam("blob"))
        )
        mine = (
            (t.subject_id == subject_id)
            & (t.vehicle_id == p.vehicle_id)
            & (t.category == p.category)
        )
        after: tuple[Any, int] | None = None
        while True:
            with self.engine.begin() as conn:
                query = select(
                    t.id, t.vehicle_id, t.signal, t.ts, t.source, t.key_owner, t.value_ciphertext
                ).where(mine)
                if after is not None:
                    query = query.where(tuple_(t.ts, t.id) > tuple_(*after))
                rows = conn.execute(query.order_by(t.ts, t.id).limit(RESEAL_BATCH)).all()
                if not rows:
                    return moved
                params = []
                for r in rows:
                    if r.key_owner != owner or r.value_ciphertext is None:
                        continue
                    blob = bytes(r.value_ciphertext)
                    if cipher.sealed_under(owner, blob) == successor:
                        continue
                    aad = aad_for(r.vehicle_id, r.signal, from_db_time(r.ts), r.source)
                    params.append({"i": r.id, "blob": cipher.reseal(owner, blob, aad, successor)})
                if params:
                    conn.execute(stmt, params)
                    moved += len(params)
                after = (rows[-1].ts, rows[-1].id)

    # -- purging what is erased ---------------------------------------------------------------

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            sqlite = conn.dialect.name == "sqlite"
            if sqlite:
                conn.exec_driver_sql("PRAGMA secure_delete=ON")
            yield conn
            if sqlite:  # the pooled connection goes back as the engine made it
                conn.exec_driver_sql("PRAGMA secure_delete=FAST")

    def _delete_batches(self, table: Table, where: Any, batch: int) -> int:
        """Delete ``table`` rows matching ``where``, ``batch`` rows a transaction."""
        key = table.c.id
        gone = 0
        while True:
            with self._writing() as conn:
                chosen = select(key).where(where).limit(batch)
                n = conn.execute(delete(table).where(key.in_(chosen))).rowcount
            gone += int(n)
            if n < batch:
                return gone

    def _delete_telemetry(self, subject_id: str, p: Portion, batch: int) -> int:
        """The portion's rows in (ts, id) order (``ix_telemetry_subject_ts``), ``batch`` rows a
        transaction, each batch deleted as the key range it spans, bounded on both sides by
        plain ``ts`` bounds the index can use: the scan never revisits the rows deleted before
        (PostgreSQL keeps their dead index entries until vacuum), so the purge stays linear."""
        t = telemetry.c
        mine = (
            (t.subject_id == subject_id)
            & (t.vehicle_id == p.vehicle_id)
            & (t.category == p.category)
        )
        after: tuple[Any, int] | None = None
        gone = 0
        while True:
            with self._writing() as conn:
                rest = mine
                if after is not None:
                    rest = rest & (t.ts >= after[0]) & (tuple_(t.ts, t.id) > tuple_(*after))
                last = conn.execute(
                    select(t.ts, t.id).where(rest).order_by(t.ts, t.id).offset(batch - 1).limit(1)
                ).first()
                span = rest
                if last is not None:
                    span = (
                        span & (t.ts <= last.ts) & (tuple_(t.ts, t.id) <= tuple_(last.ts, last.id))
                    )
                gone += int(conn.execute(delete(telemetry).where(span)).rowcount)
            if last is None:
                return gone
            after = (last.ts, last.id)

    def purge(self, subject_id: str, verdicts: Sequence[Verdict], batch: int) -> int:
        erased = [v.portion for v in verdicts if not v.kept]
        kept_tables = {v.portion.table for v in verdicts if v.kept and not v.portion.part}
        counterparty = any(
            v.kept and v.portion.table == "customers" and v.portion.part == "name_address"
            for v in verdicts
        )
        gone = 0
        for p in erased:
            if p.table == "telemetry":
                gone += self._delete_telemetry(subject_id, p, batch)
            elif p.table == "telemetry_quarantine":
                where = telemetry_quarantine.c.key_owner == subject_owner(subject_id)
                gone += self._delete_batches(telemetry_quarantine, where, batch)
        with self._writing() as conn:
            for p in erased:
                gone += self._purge_master(conn, subject_id, p)
            if "customers" in {p.table for p in erased}:
                if counterparty:  # the kept transactions' counterparty: name and address stay
                    conn.execute(
                        update(customers)
                        .where(customers.c.id == subject_id)
                        .values(email=None, phone=None)
                    )
                elif "customers" not in kept_tables and not self._referenced(conn, subject_id):
                    # else the row stays as the anchor of kept rows, its values under the
                    # destroyed key (read as erased)
                    gone += conn.execute(
                        delete(customers).where(customers.c.id == subject_id)
                    ).rowcount
        return gone

    def settle(self) -> None:
        """After the shred and the purge: on SQLite, checkpoint the WAL and truncate it, so that
        the page images from before the erasure leave the WAL file (best effort: a reader that
        holds an old snapshot keeps them until the next checkpoint). PostgreSQL keeps dead
        tuples and WAL segments until they are reused: there the next master key rotation makes
        those copies unreadable (docs/erasure.md)."""
        if self.engine.dialect.name != "sqlite":
            return
        with self.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    @staticmethod
    def _referenced(conn: Connection, subject_id: str) -> bool:
        for table in (accounts, vehicle_usages, contracts, payment_transactions):
            found = conn.execute(
                select(table.c.id).where(table.c.customer_id == subject_id).limit(1)
            ).first()
            if found is not None:
                return True
        return False

    def subject_ids(self) -> list[str]:
        """Every customer id and every erased subject's id (a restore's replay looks the
        shred list's pseudonyms up among them)."""
        with self.engine.connect() as conn:
            found = set(conn.execute(select(customers.c.id)).scalars())
            found.update(conn.execute(select(erasures.c.subject_id)).scalars())
        return sorted(found)

    @staticmethod
    def _purge_master(conn: Connection, subject_id: str, p: Portion) -> int:
        if p.table == "accounts":
            return int(conn.execute(delete(accounts).where(accounts.c.id == p.row_id)).rowcount)
        if p.table == "vehicle_usages":
            where = vehicle_usages.c.customer_id == subject_id
            return int(conn.execute(delete(vehicle_usages).where(where)).rowcount)
        if p.table == "contracts":
            mine = select(contracts.c.id).where(contracts.c.customer_id == subject_id)
            conn.execute(
                update(payment_transactions)
                .where(payment_transactions.c.contract_id.in_(mine))
                .values(contract_id=None)
            )
            return int(
                conn.execute(
                    delete(contracts).where(contracts.c.customer_id == subject_id)
                ).rowcount
            )
        if p.table == "payment_transactions":
            where = payment_transactions.c.id == p.row_id
            return int(conn.execute(delete(payment_transactions).where(where)).rowcount)
        if p.table == "callers":
            mine = select(callers.c.id).where(callers.c.subject_id == subject_id)
            grants = select(cardata_grants.c.id).where(cardata_grants.c.owner_id.in_(mine))
            conn.execute(
                delete(cardata_refresh_tokens).where(cardata_refresh_tokens.c.grant_id.in_(grants))
            )
            for table, column in (
                (cardata_grants, cardata_grants.c.owner_id),
                (cardata_containers, cardata_containers.c.owner_id),
                (cardata_clients, cardata_clients.c.owner_id),
                (caller_credentials, caller_credentials.c.caller_id),
                (email_codes, email_codes.c.caller_id),
            ):
                conn.execute(delete(table).where(column.in_(mine)))
            where = callers.c.subject_id == subject_id
            return int(conn.execute(delete(callers).where(where)).rowcount)
        if p.table == "automated_decisions":
            ad = automated_decisions
            decided = select(ad.c.id).where(ad.c.subject_id == subject_id)
            n = conn.execute(
                delete(review_requests).where(review_requests.c.decision_id.in_(decided))
            ).rowcount
            return int(n) + int(
                conn.execute(delete(ad).where(ad.c.subject_id == subject_id)).rowcount
            )
        return 0

    # -- the erasure records ------------------------------------------------------------------

    def add(self, record: ErasureRecord) -> None:
        """Raises ``ConflictError`` when the subject has an unfinished erasure already."""
        try:
            self._add(record)
        except IntegrityError:
            raise ConflictError("an erasure of this subject is in progress") from None

    def _add(self, record: ErasureRecord) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                erasures.insert().values(
                    id=record.id,
                    subject_id=record.subject_id,
                    controller=record.controller,
                    state=record.state.value,
                    as_of=to_db_time(record.as_of),
                    successor=record.successor,
                    requested_by=record.requested_by,
                    reason=record.reason,
                    started_at=to_db_time(record.started_at),
                    finished_at=None,
                    report=record.report,
                )
            )

    def advance(
        self, erasure_id: str, state: ErasureState, report: str, at: datetime | None = None
    ) -> None:
        values: dict[str, Any] = {"state": state.value, "report": report}
        if at is not None:
            values["finished_at"] = to_db_time(at)
        with self.engine.begin() as conn:
            conn.execute(update(erasures).where(erasures.c.id == erasure_id).values(**values))

    def of_subject(self, subject_id: str) -> list[ErasureRecord]:
        e = erasures.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(erasures).where(e.subject_id == subject_id).order_by(e.started_at, e.id)
            ).all()
        return [
            ErasureRecord(
                id=r.id,
                subject_id=r.subject_id,
                controller=r.controller,
                state=ErasureState(r.state),
                as_of=from_db_time(r.as_of),
                successor=r.successor,
                requested_by=r.requested_by,
                reason=r.reason,
                started_at=from_db_time(r.started_at),
                finished_at=opt_from_db_time(r.finished_at),
                report=r.report,
            )
            for r in rows
        ]
