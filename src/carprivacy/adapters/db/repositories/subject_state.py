"""SQL store of consents, objections, overrides and restrictions
(the ports of services/consent/subject_state.py).

Every write is one transaction; an update of an unknown id raises KeyError and writes nothing.
Times are stored and returned in UTC (SQLite returns naive values: they are UTC). Free text that
may describe the person (objection grounds, override justification, lift notice) is sealed with
the FieldCipher under ``subject:<id>``, bound to table/column/row; after crypto-shredding it reads
as an empty string.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, Table, insert, select, update

from carprivacy.adapters.db.id_sets import among
from carprivacy.adapters.db.repositories.consent_ledger import SqlSubjectLedger
from carprivacy.adapters.db.repositories.sealing import FieldSealer
from carprivacy.adapters.db.tables.subject_state import (
    subject_consents,
    subject_objections,
    subject_overrides,
    subject_restrictions,
)
from carprivacy.domain.consent_ledger import LedgerEntry, LedgerState, replay
from carprivacy.domain.errors import KeyDestroyedError
from carprivacy.domain.subject_state import (
    ConsentChoice,
    ConsentRecord,
    Objection,
    Override,
    OverrideGround,
    Restriction,
    RestrictionCase,
)
from carprivacy.services.ports.crypto import FieldCipher


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _req_utc(value: datetime) -> datetime:
    out = _utc(value)
    assert out is not None
    return out


class SqlSubjectStateRepository:
    def __init__(self, engine: Engine, cipher: FieldCipher) -> None:
        self.engine = engine
        self._sealer = FieldSealer(cipher)
        self.ledger = SqlSubjectLedger(engine, cipher)

    # -- the append-only ledger (its replay is merged into every read below) -----------------

    def append(self, entry: LedgerEntry) -> None:
        self.ledger.append(entry)

    def entries(self, subject_id: str) -> list[LedgerEntry]:
        return self.ledger.entries(subject_id)

    def _seal(self, subject: str, table: str, column: str, row_id: str, text: str) -> bytes:
        blob = self._sealer.seal(subject, table, column, row_id, text)
        assert blob is not None
        return blob

    def _open(self, m: RowMapping, table: str, column: str) -> str:
        if m[column] is None:
            return ""
        try:
            return self._sealer.open(m["subject_id"], table, column, m["id"], m[column]) or ""
        except KeyDestroyedError:
            return ""  # erased by crypto-shredding: the record stays, the text is gone

    # -- generic ----------------------------------------------------------------------------

    def _insert(self, table: Table, values: Mapping[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(table).values(**values))

    def _update(self, table: Table, values: Mapping[str, Any]) -> None:
        with self.engine.begin() as conn:
            result = conn.execute(update(table).where(table.c.id == values["id"]).values(**values))
            if result.rowcount != 1:
                raise KeyError(f"unknown id in {table.name}")

    # -- consents ---------------------------------------------------------------------------

    @staticmethod
    def _consent_values(r: ConsentRecord) -> dict[str, Any]:
        return {
            "id": r.id,
            "subject_id": r.subject_id,
            "topic": r.topic,
            "choice": r.choice.value,
            "text_version": r.text_version,
            "channel": r.channel,
            "given_at": _utc(r.given_at),
            "recorded_by": r.recorded_by,
            "vehicle_id": r.vehicle_id,
            "withdrawn_at": _utc(r.withdrawn_at),
            "withdrawn_by": r.withdrawn_by,
            "withdrawal_channel": r.withdrawal_channel,
        }

    def add_consent(self, record: ConsentRecord) -> None:
        self._insert(subject_consents, self._consent_values(record))

    def update_consent(self, record: ConsentRecord) -> None:
        self._update(subject_consents, self._consent_values(record))

    def consents(self, subject_id: str) -> list[ConsentRecord]:
        return self._state(subject_id).consents

    def consents_of(self, subject_ids: Collection[str]) -> dict[str, list[ConsentRecord]]:
        """The consents of many subjects at once (ingestion: one query per batch); every id
        gets a list."""
        out: dict[str, list[ConsentRecord]] = {s: [] for s in subject_ids}
        if not out:
            return out
        c = subject_consents.c
        with self.engine.connect() as conn:
            stmt = (
                select(subject_consents)
                .where(among(conn.dialect.name, c.subject_id, out))
                .order_by(c.subject_id, c.given_at, c.id)
            )
            for row in conn.execute(stmt):
                out[row.subject_id].append(_consent(row._mapping))
            for subject, entries in self.ledger.entries_on(conn, list(out)).items():
                if entries:
                    merged = out[subject] + list(replay(entries).consents)
                    out[subject] = sorted(merged, key=lambda r: (r.given_at, r.id))
        return out

    def _state(self, subject_id: str) -> SubjectState:
        with self.engine.connect() as conn:
            return self.held_on(conn, [subject_id])[subject_id]

    # -- objections -------------------------------------------------------------------------

    def _objection_values(self, o: Objection) -> dict[str, Any]:
        return {
            "id": o.id,
            "subject_id": o.subject_id,
            "made_at": _utc(o.made_at),
            "recorded_by": o.recorded_by,
            "purpose": o.purpose,
            "marketing": o.marketing,
            "grounds": self._seal(o.subject_id, "subject_objections", "grounds", o.id, o.grounds),
            "withdrawn_at": _utc(o.withdrawn_at),
        }

    def add_objection(self, objection: Objection) -> None:
        self._insert(subject_objections, self._objection_values(objection))

    def update_objection(self, objection: Objection) -> None:
        self._update(subject_objections, self._objection_values(objection))

    def objections(self, subject_id: str) -> list[Objection]:
        return self._state(subject_id).objections

    def _objection(self, m: RowMapping) -> Objection:
        return Objection(
            id=m["id"],
            subject_id=m["subject_id"],
            made_at=_req_utc(m["made_at"]),
            recorded_by=m["recorded_by"],
            purpose=m["purpose"],
            marketing=bool(m["marketing"]),
            grounds=self._open(m, "subject_objections", "grounds"),
            withdrawn_at=_utc(m["withdrawn_at"]),
        )

    # -- overrides --------------------------------------------------------------------------

    def _override_values(self, o: Override) -> dict[str, Any]:
        return {
            "id": o.id,
            "subject_id": o.subject_id,
            "purpose": o.purpose,
            "ground": o.ground.value,
            "justification": self._seal(
                o.subject_id, "subject_overrides", "justification", o.id, o.justification
            ),
            "decided_by": o.decided_by,
            "decided_at": _utc(o.decided_at),
            "ended_at": _utc(o.ended_at),
        }

    def add_override(self, override: Override) -> None:
        self._insert(subject_overrides, self._override_values(override))

    def update_override(self, override: Override) -> None:
        self._update(subject_overrides, self._override_values(override))

    def overrides(self, subject_id: str) -> list[Override]:
        return self._state(subject_id).overrides

    def _override(self, m: RowMapping) -> Override:
        return Override(
            id=m["id"],
            subject_id=m["subject_id"],
            purpose=m["purpose"],
            ground=OverrideGround(m["ground"]),
            justification=self._open(m, "subject_overrides", "justification"),
            decided_by=m["decided_by"],
            decided_at=_req_utc(m["decided_at"]),
            ended_at=_utc(m["ended_at"]),
        )

    # -- restrictions -----------------------------------------------------------------------

    def _restriction_values(self, r: Restriction) -> dict[str, Any]:
        return {
            "id": r.id,
            "subject_id": r.subject_id,
            "restriction_case": r.case.value,
            "started_at": _utc(r.started_at),
            "recorded_by": r.recorded_by,
            "categories": " ".join(r.categories),
            "lifted_at": _utc(r.lifted_at),
            "lifted_by": r.lifted_by,
            "lift_notice": None
            if r.lift_notice is None
            else self._seal(
                r.subject_id, "subject_restrictions", "lift_notice", r.id, r.lift_notice
            ),
        }

    def add_restriction(self, restriction: Restriction) -> None:
        self._insert(subject_restrictions, self._restriction_values(restriction))

    def update_restriction(self, restriction: Restriction) -> None:
        self._update(subject_restrictions, self._restriction_values(restriction))

    def restrictions(self, subject_id: str) -> list[Restriction]:
        return self._state(subject_id).restrictions

    def _restriction(self, m: RowMapping) -> Restriction:
        return Restriction(
            id=m["id"],
            subject_id=m["subject_id"],
            case=RestrictionCase(m["restriction_case"]),
            started_at=_req_utc(m["started_at"]),
            recorded_by=m["recorded_by"],
            categories=tuple(m["categories"].split()),
            lifted_at=_utc(m["lifted_at"]),
            lifted_by=m["lifted_by"],
            lift_notice=None
            if m["lift_notice"] is None
            else self._open(m, "subject_restrictions", "lift_notice"),
        )

    # -- many subjects at once, on a caller's connection --------------------------------------

    def held_on(self, conn: Connection, subject_ids: Collection[str]) -> dict[str, SubjectState]:
        """Consents, objections, overrides and restrictions of many subjects, read on ``conn``
        (one query per table); every id gets an entry."""
        found: dict[str, SubjectState] = {s: SubjectState() for s in subject_ids}
        if not found:
            return found
        reads: tuple[tuple[Table, str, Callable[[RowMapping], Any], str], ...] = (
            (subject_consents, "given_at", _consent, "consents"),
            (subject_objections, "made_at", self._objection, "objections"),
            (subject_overrides, "decided_at", self._override, "overrides"),
            (subject_restrictions, "started_at", self._restriction, "restrictions"),
        )
        for table, order, convert, name in reads:
            stmt = (
                select(table)
                .where(among(conn.dialect.name, table.c.subject_id, found))
                .order_by(table.c.subject_id, table.c[order], table.c.id)
            )
            for row in conn.execute(stmt):
                getattr(found[row.subject_id], name).append(convert(row._mapping))
        for subject, entries in self.ledger.entries_on(conn, list(found)).items():
            if entries:
                found[subject].merge(replay(entries))
        return found


@dataclass
class SubjectState:
    """What one subject's state tables hold, in the order of each record's time."""

    consents: list[ConsentRecord] = field(default_factory=list)
    objections: list[Objection] = field(default_factory=list)
    overrides: list[Override] = field(default_factory=list)
    restrictions: list[Restriction] = field(default_factory=list)

    def merge(self, derived: LedgerState) -> None:
        """Add the state a ledger replay derived, keeping each list in the order of its time."""
        self.consents = sorted(
            [*self.consents, *derived.consents], key=lambda r: (r.given_at, r.id)
        )
        self.objections = sorted(
            [*self.objections, *derived.objections], key=lambda r: (r.made_at, r.id)
        )
        self.overrides = sorted(
            [*self.overrides, *derived.overrides], key=lambda r: (r.decided_at, r.id)
        )
        self.restrictions = sorted(
            [*self.restrictions, *derived.restrictions], key=lambda r: (r.started_at, r.id)
        )


def _consent(m: RowMapping) -> ConsentRecord:
    return ConsentRecord(
        id=m["id"],
        subject_id=m["subject_id"],
        topic=m["topic"],
        choice=ConsentChoice(m["choice"]),
        text_version=m["text_version"],
        channel=m["channel"],
        given_at=_req_utc(m["given_at"]),
        recorded_by=m["recorded_by"],
        vehicle_id=m["vehicle_id"],
        withdrawn_at=_utc(m["withdrawn_at"]),
        withdrawn_by=m["withdrawn_by"],
        withdrawal_channel=m["withdrawal_channel"],
    )
