"""Per-batch steps of ingestion that need a port (SPEC I2, I3, C3): sealing
the batch's sensitive values under their owners' keys, and reading the consents that decide
whether a gated category (OBFCM) is collected. Kept apart from ``ingest`` so that the per-record
loop there stays readable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from carprivacy.domain.collection_gate import CollectionGate, GateRefusal
from carprivacy.domain.errors import Problem
from carprivacy.domain.subject_state import ConsentRecord
from carprivacy.domain.telemetry import TelemetryRow
from carprivacy.services.ingestion.moments import Moment, Sealing
from carprivacy.services.ingestion.ports import BatchCipher, ConsentLookup, KeyPreparer
from carprivacy.services.ingestion.quarantine import VehicleInfo
from carprivacy.services.ports.crypto import FieldCipher


class BatchConsents:
    """The consents one batch needs: those of every person who used its vehicles, read at once
    when the batch holds a gated signal (OBFCM); nothing is read otherwise."""

    def __init__(
        self,
        lookup: ConsentLookup | None,
        gated_signals: frozenset[str],
        records: Sequence[object],
        vehicles: Mapping[str, VehicleInfo],
    ) -> None:
        self._lookup = lookup
        self._cache: dict[str, list[ConsentRecord]] = {}
        if lookup is None or not gated_signals:
            return
        if any(
            type(r) is dict and type(name := r.get("signal")) is str and name in gated_signals
            for r in records
        ):
            people = {u.customer_id for v in vehicles.values() for u in v.usages if u.customer_id}
            if people:
                self._cache = dict(lookup.consents_of(people))

    def refusal(self, gate: CollectionGate, m: Moment, at: datetime) -> GateRefusal | None:
        """Whether the subject's choice stops this category being collected at ``at``."""
        assert m.subject_id is not None and self._lookup is not None
        consents = self._cache.get(m.subject_id)
        if consents is None:  # not a user the batch's vehicles named: look it up alone
            found = self._lookup.consents_of([m.subject_id])
            consents = self._cache[m.subject_id] = found.get(m.subject_id, [])
        return gate.refusal(consents, m.subject_id, m.vehicle_id, at)


def seal_pending(
    cipher: FieldCipher,
    sealing: Mapping[str, list[Sealing]],
    rows: list[TelemetryRow | None],
    problems: dict[int, list[Problem]],
    received_at: datetime,
    source: str,
    positions: Sequence[int] | None,
) -> bool:
    """Encrypt the batch's sensitive values, owner by owner, with the owners' keys loaded at
    once; an erased owner's (destroyed key) values are refused, nothing of them is stored.
    True when some were refused (their places in ``rows`` stay None)."""
    if not sealing:
        return False
    destroyed: set[str] = set()
    if isinstance(cipher, KeyPreparer):
        # every owner of the batch, not only those with sensitive values: a conflicting
        # duplicate is quarantined under its owner's key inside the store's transaction,
        # where creating that key (another connection) would wait for SQLite's write lock
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
                m.expiries[p.entry.category],
            )
    return any(sealing[owner] for owner in destroyed)
