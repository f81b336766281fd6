"""Seal (SPEC I3, R3): the batch's sensitive values encrypted under the data key of their
subject (the key owner of the record's moment), owner by owner, with the owners' keys loaded at
once. An erased owner's values (destroyed key) are refused with ``erased_subject``: nothing of
them is stored, and no new key is created for an erased subject.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import NamedTuple

from carprivacy.domain.errors import Problem
from carprivacy.domain.telemetry import TelemetryRow
from carprivacy.services.ingestion.attribute import Moment
from carprivacy.services.ingestion.parse import Entry
from carprivacy.services.ingestion.ports import BatchCipher, KeyPreparer
from carprivacy.services.ports.crypto import FieldCipher


class Sealing(NamedTuple):
    """A sensitive value waiting for its owner's key (keys are loaded once per batch)."""

    position: int  # in ``rows``
    record: int  # index in the batch
    entry: Entry
    text: str
    moment: Moment
    expires_at: datetime | None


def seal_pending(
    cipher: FieldCipher,
    sealing: Mapping[str, list[Sealing]],
    rows: list[TelemetryRow | None],
    problems: dict[int, list[Problem]],
    received_at: datetime,
    source: str,
    positions: Sequence[int] | None,
) -> bool:
    """Encrypt the batch's sensitive values into their places in ``rows``; an erased owner's
    values are refused into ``problems``. True when some were refused (their places in
    ``rows`` stay None)."""
    if not sealing:
        return False
    destroyed: set[str] = set()
    if isinstance(cipher, KeyPreparer):
        # every owner of the batch, not only those with sensitive values: a conflicting
        # duplicate is quarantined under its owner's key, and creating that key then would
        # cost a write of its own
        destroyed = cipher.prepare(list(sealing))
    owners = [owner for owner, pending in sealing.items() if pending]
    if not owners:
        return False
    batch = cipher if isinstance(cipher, BatchCipher) else None
    for owner in owners:
        pending = sealing[owner]
        if owner in destroyed:
            for p in pending:
                at = p.record if positions is None else positions[p.record]
                problems[p.record] = [
                    Problem(
                        f"records[{at}]",
                        "erased_subject",
                        "the data subject's key was destroyed (erasure); nothing is stored",
                    )
                ]
            continue
        items = [
            (p.text.encode(), (p.moment.aad_head + p.entry.name + p.moment.aad_tail).encode())
            for p in pending
        ]
        if batch is not None:
            sealed = batch.encrypt_many(owner, items)
        else:
            sealed = [cipher.encrypt(owner, pt, aad) for pt, aad in items]
        for p, ciphertext in zip(pending, sealed, strict=True):
            m = p.moment
            rows[p.position] = TelemetryRow(
                m.vehicle_id,
                m.subject_id,
                m.fleet_id,
                owner,
                p.entry.name,
                p.entry.category,
                p.entry.unit,
                None,
                ciphertext,
                m.ts,
                received_at,
                source,
                p.entry.purposes,
                p.expires_at,
            )
    return any(sealing[owner] for owner in destroyed)


def sensitive_texts(sealing: Mapping[str, list[Sealing]], kept: list[int] | None) -> dict[int, str]:
    """Position in the stored rows -> plaintext of each sensitive row (the conflict check's
    input; built only when a stored key was met again)."""
    by_row = {p.position: p.text for pending in sealing.values() for p in pending}
    if kept is None:
        return by_row
    return {i: by_row[p] for i, p in enumerate(kept) if p in by_row}
