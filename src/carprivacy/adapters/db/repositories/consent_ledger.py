"""SQL store of the append-only consent ledger (the SubjectLedger port, SPEC C1, C4).

Only INSERT and SELECT: the table's triggers refuse UPDATE and DELETE. The free-text note
(objection grounds, override justification, lift notice) is sealed under ``subject:<id>`` bound
to the row; after crypto-shredding it reads as an empty string, the entry itself stays.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, insert, select

from carprivacy.adapters.db.id_sets import among
from carprivacy.adapters.db.repositories.sealing import FieldSealer
from carprivacy.adapters.db.tables.subject_state import subject_ledger
from carprivacy.domain.consent_ledger import Actor, Channel, EntryKind, LedgerEntry
from carprivacy.domain.errors import KeyDestroyedError
from carprivacy.domain.subject_state import ConsentChoice, OverrideGround, RestrictionCase
from carprivacy.services.ports.crypto import FieldCipher

_TABLE = "subject_ledger"


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class SqlSubjectLedger:
    def __init__(self, engine: Engine, cipher: FieldCipher) -> None:
        self.engine = engine
        self._sealer = FieldSealer(cipher)

    def append(self, entry: LedgerEntry) -> None:
        note = (
            self._sealer.seal(entry.subject_id, _TABLE, "note", entry.id, entry.note)
            if entry.note
            else None
        )
        values: dict[str, Any] = {
            "id": entry.id,
            "subject_id": entry.subject_id,
            "kind": entry.kind.value,
            "at": _utc(entry.at),
            "recorded_by": entry.recorded_by,
            "actor": entry.actor.value,
            "channel": entry.channel.value,
            "record_id": entry.record_id,
            "topic": entry.topic,
            "choice": entry.choice.value if entry.choice else None,
            "party": entry.party,
            "vehicle_id": entry.vehicle_id,
            "text_version": entry.text_version,
            "text_hash": entry.text_hash,
            "language": entry.language,
            "purpose": entry.purpose,
            "marketing": entry.marketing,
            "restriction_case": entry.case.value if entry.case else None,
            "categories": " ".join(entry.categories),
            "ground": entry.ground.value if entry.ground else None,
            "note": note,
        }
        with self.engine.begin() as conn:
            conn.execute(insert(subject_ledger).values(**values))

    def entries(self, subject_id: str) -> list[LedgerEntry]:
        with self.engine.connect() as conn:
            return self.entries_on(conn, [subject_id]).get(subject_id, [])

    def entries_on(
        self, conn: Connection, subject_ids: Collection[str]
    ) -> dict[str, list[LedgerEntry]]:
        """The entries of many subjects, read on ``conn``, in ledger order; every id gets a list."""
        out: dict[str, list[LedgerEntry]] = {s: [] for s in subject_ids}
        if not out:
            return out
        c = subject_ledger.c
        stmt = (
            select(subject_ledger)
            .where(among(conn.dialect.name, c.subject_id, out))
            .order_by(c.subject_id, c.at, c.id)
        )
        for row in conn.execute(stmt):
            out[row.subject_id].append(self._entry(row._mapping))
        return out

    def _entry(self, m: RowMapping) -> LedgerEntry:
        note = ""
        if m["note"] is not None:
            try:
                note = self._sealer.open(m["subject_id"], _TABLE, "note", m["id"], m["note"]) or ""
            except KeyDestroyedError:
                note = ""
        return LedgerEntry(
            id=m["id"],
            subject_id=m["subject_id"],
            kind=EntryKind(m["kind"]),
            at=_utc(m["at"]),
            recorded_by=m["recorded_by"],
            actor=Actor(m["actor"]),
            channel=Channel(m["channel"]),
            record_id=m["record_id"],
            topic=m["topic"],
            choice=ConsentChoice(m["choice"]) if m["choice"] else None,
            party=m["party"],
            vehicle_id=m["vehicle_id"],
            text_version=m["text_version"],
            text_hash=m["text_hash"],
            language=m["language"],
            purpose=m["purpose"],
            marketing=bool(m["marketing"]),
            case=RestrictionCase(m["restriction_case"]) if m["restriction_case"] else None,
            categories=tuple(m["categories"].split()),
            ground=OverrideGround(m["ground"]) if m["ground"] else None,
            note=note,
        )
