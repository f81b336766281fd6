"""Redelivery or conflict (SPEC I1): a record whose natural key (vehicle, signal,
time, source) is already stored is a redelivery when its value is the stored one (``duplicate``:
nothing new), and a conflict when the value differs: it is refused with the rule
``conflicting_duplicate`` and kept in quarantine, so that neither the stored value nor the new one
is lost. Only the rare redelivery path pays for this: the stored values are read (and, for
sensitive categories, decrypted) only for keys that were already taken. The store reports
those keys and their values; the check runs here, outside its transaction (``store``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from carprivacy.domain.errors import KeyDestroyedError, Problem
from carprivacy.domain.telemetry import QuarantineRow, StoredValue, TelemetryRow, aad_for
from carprivacy.services.ingestion.quarantine import QuarantineSealer, record_payload
from carprivacy.services.ports.crypto import FieldCipher

CONFLICT_RULE = "conflicting_duplicate"
CONFLICT_MESSAGE = (
    "another value of this signal at this time from this vehicle and source is already stored; "
    "the stored value is kept and this record is quarantined"
)


def same_text(stored: str, new: str) -> bool:
    """Whether two stored JSON texts hold one value: the same text, or the same number written
    two ways (``13`` stored before float signals stored floats, ``13.0`` now; ``-0.0`` and
    ``0.0``)."""
    if stored == new:
        return True
    try:
        a, b = json.loads(stored), json.loads(new)
    except ValueError:
        return False
    numbers = (int, float)
    if type(a) in numbers and type(b) in numbers:  # not bool: True is not 1 here
        return bool(a == b)
    return False


def same_value(cipher: FieldCipher, row: TelemetryRow, text: str, stored: StoredValue) -> bool:
    """Whether ``stored`` holds the value of ``text`` (the JSON text of the new record's)."""
    if stored.value is not None:
        return same_text(stored.value, text)
    if stored.value_ciphertext is None:
        return False
    aad = aad_for(row.vehicle_id, row.signal, row.ts, row.source)
    try:
        plain = cipher.decrypt(stored.key_owner, stored.value_ciphertext, aad)
    except (KeyDestroyedError, ValueError):  # erased, or not comparable: not the same record
        return False
    return same_text(plain.decode(), text)


@dataclass
class ConflictResolver:
    """One batch's conflict check, run by the service between two ``store`` calls: finds the
    conflicts among the rows whose key was taken and returns their quarantine rows; ``refused``
    collects their problems by record index."""

    cipher: FieldCipher
    sealer: QuarantineSealer
    records: Sequence[object]
    rows: Sequence[TelemetryRow]  # what was given to ``store``
    sensitive_texts: Callable[[], Mapping[int, str]]  # position in ``rows`` -> plaintext
    record_of: Callable[[int], int]  # position in ``rows`` -> index in ``records``
    sender_index: Callable[[int], int]  # index in ``records`` -> the sender's numbering
    refused: dict[int, list[Problem]] = field(default_factory=dict)
    _texts: Mapping[int, str] | None = None

    def resolve(self, stored: Mapping[int, StoredValue]) -> list[QuarantineRow]:
        """The quarantine rows of the conflicts among ``stored`` (position in ``rows`` -> the
        value stored under its key); a redelivery of the stored value gives none."""
        out: list[QuarantineRow] = []
        for position, value in stored.items():
            row = self.rows[position]
            text = row.value
            if text is None:
                if self._texts is None:
                    self._texts = self.sensitive_texts()
                text = self._texts[position]
            if same_value(self.cipher, row, text, value):
                continue
            index = self.record_of(position)
            at = self.sender_index(index)
            problems = (Problem(f"records[{at}].value", CONFLICT_RULE, CONFLICT_MESSAGE),)
            self.refused[index] = list(problems)
            out.append(
                self.sealer.sealed(
                    record_payload(self.records[index]),
                    at,
                    problems,
                    row.source,
                    row.vehicle_id,
                    row.key_owner,
                    row.received_at,
                )
            )
        return out
