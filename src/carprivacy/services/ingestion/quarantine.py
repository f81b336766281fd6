"""Quarantine of refused telemetry (SPEC I1, I3, R3): what ingestion keeps of a
record or message it refuses, and how the payload is sealed.

A refused payload may hold a position or a voice command, so it is encrypted under the key of the
data subject it belongs to: the vehicle's user at the record's own time when that time is
readable, else at receipt. Erasing the subject (destroying that key) shreds the quarantined
payloads too. When the subject's key is already destroyed, nothing of the payload is kept, only
the reasons (``PAYLOAD_WITHHELD``). The associated data binds the payload to its row's columns
(source, vehicle, record index, time of receipt, key owner, reasons).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from carprivacy.domain.errors import KeyDestroyedError, Problem
from carprivacy.domain.signals.validation import parse_timestamp
from carprivacy.domain.telemetry import (
    PAYLOAD_WITHHELD,
    QUARANTINE_OWNER_UNKNOWN,
    QuarantineRow,
    quarantine_aad,
)
from carprivacy.domain.vehicle_usage import subject_for
from carprivacy.services.access.gate import Record
from carprivacy.services.access.views import VEHICLE, View
from carprivacy.services.ingestion.attribute import VehicleInfo
from carprivacy.services.ports.crypto import FieldCipher

QUARANTINE_RETENTION = timedelta(weeks=4)


def record_payload(record: object) -> bytes:
    """The bytes kept of a refused record: its JSON as received (parsed and re-serialised)."""
    return json.dumps(record, default=str, separators=(",", ":")).encode()


class QuarantineSealer:
    """Builds quarantine rows: chooses the key owner and seals the payload."""

    def __init__(self, cipher: FieldCipher, retention: timedelta = QUARANTINE_RETENTION) -> None:
        self._cipher = cipher
        self._retention = retention

    def owner_of(self, vehicle: VehicleInfo | None, at: datetime) -> str:
        """Whose key seals a payload of ``vehicle`` from time ``at``."""
        if vehicle is None:
            return QUARANTINE_OWNER_UNKNOWN
        return subject_for(vehicle.id, vehicle.usages, at).owner

    def record(
        self,
        record: object,
        index: int,
        reasons: tuple[Problem, ...],
        source: str,
        vehicle: VehicleInfo | None,
        received_at: datetime,
        *,
        withhold: bool = False,
    ) -> QuarantineRow:
        """A refused record; its own ``ts``, when readable, decides whose data it is.
        ``withhold``: keep only the reasons (``PAYLOAD_WITHHELD``), nothing of the record."""
        ts = parse_timestamp(record.get("ts")) if isinstance(record, Mapping) else None
        owner = self.owner_of(vehicle, ts or received_at)
        vehicle_id = vehicle.id if vehicle else None
        payload = PAYLOAD_WITHHELD if withhold else record_payload(record)
        return self.sealed(payload, index, reasons, source, vehicle_id, owner, received_at)

    def sealed(
        self,
        payload: bytes,
        index: int | None,
        reasons: tuple[Problem, ...],
        source: str,
        vehicle_id: str | None,
        owner: str,
        received_at: datetime,
    ) -> QuarantineRow:
        aad = quarantine_aad(source, vehicle_id, index, received_at, owner, reasons)
        sealed = PAYLOAD_WITHHELD
        if payload != PAYLOAD_WITHHELD:
            try:
                sealed = self._cipher.encrypt(owner, payload, aad)
            except KeyDestroyedError:  # an erased subject: keep the reasons, nothing of the data
                sealed = PAYLOAD_WITHHELD
        return QuarantineRow(
            source=source,
            vehicle_id=vehicle_id,
            record_index=index,
            reasons=reasons,
            key_owner=owner,
            payload_ciphertext=sealed,
            received_at=received_at,
            expires_at=received_at + self._retention,
        )

    def open(self, row: QuarantineRow) -> bytes | None:
        """The payload of a quarantine row; None when it was withheld or its key is destroyed.
        Raises (the cipher's error) when the payload was moved to another row or altered."""
        if row.payload_ciphertext == PAYLOAD_WITHHELD:
            return None
        aad = quarantine_aad(
            row.source,
            row.vehicle_id,
            row.record_index,
            row.received_at.astimezone(UTC),
            row.key_owner,
            row.reasons,
        )
        try:
            return self._cipher.decrypt(row.key_owner, row.payload_ciphertext, aad)
        except KeyDestroyedError:
            return None


# A quarantine row as the gate releases it: the vehicle it came from is the one reference to a
# person (through the vehicle's user); reasons name fields and rules, never values; payloads are
# never listed. ``expires_at`` passed: the row is not released (4 weeks, QUARANTINE_RETENTION).
QUARANTINE_VIEW = View(
    "vehicle_general",
    {},
    refs={"vehicle_id": VEHICLE},
    bookkeeping=frozenset(
        {"id", "received_at", "source", "record_index", "reasons", "payload", "expires_at"}
    ),
)


def quarantine_record(ident: int, row: QuarantineRow) -> Record:
    """A quarantine row as a record for the gate (no payload, only whether one is kept)."""
    return Record(
        {
            "id": ident,
            "received_at": row.received_at,
            "source": row.source,
            "vehicle_id": row.vehicle_id,
            "record_index": row.record_index,
            "reasons": [
                {"field": p.path, "rule": p.rule, "message": p.message} for p in row.reasons
            ],
            "payload": "withheld" if row.payload_ciphertext == PAYLOAD_WITHHELD else "sealed",
            "expires_at": row.expires_at,
        },
        None,
        row.vehicle_id,
    )
