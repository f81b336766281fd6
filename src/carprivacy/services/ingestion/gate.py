"""Gate (SPEC C3, U2): the collection gate. A category whose every collection purpose depends on
a consent topic (OBFCM: the customer may refuse its collection at the workshop) is collected only
while the subject's consents allow it (``domain.collection_gate``). A record the subject's choice
stops is answered with the gate's rule and kept nowhere, not even in quarantine: the subject
said no. The consents a batch needs are read at once, and only when it holds a gated signal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from carprivacy.domain.collection_gate import CollectionGate
from carprivacy.domain.errors import Problem
from carprivacy.domain.subject_state import ConsentRecord
from carprivacy.services.ingestion.attribute import Moment, VehicleInfo
from carprivacy.services.ingestion.ports import ConsentLookup


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

    def refusal(self, gate: CollectionGate, m: Moment, at: datetime, index: int) -> Problem | None:
        """The problem answering a record whose subject's choice stops this category being
        collected at ``at``; None when it may be collected (``index``: the sender's numbering)."""
        assert m.subject_id is not None and self._lookup is not None
        consents = self._cache.get(m.subject_id)
        if consents is None:  # not a user the batch's vehicles named: look it up alone
            found = self._lookup.consents_of([m.subject_id])
            consents = self._cache[m.subject_id] = found.get(m.subject_id, [])
        refusal = gate.refusal(consents, m.subject_id, m.vehicle_id, at)
        if refusal is None:
            return None
        return Problem(f"records[{index}]", refusal.rule, refusal.message)
