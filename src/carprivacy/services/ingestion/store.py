"""Store (SPEC I1, I3): one batch written all or nothing, its good rows and the quarantine of
its refused records in ONE transaction, committed when :func:`store_batch` returns
(acknowledged = durable).

The repository only stores. When a row's natural key is already taken (a redelivery, a repeat
within the batch, or another value under a stored key) it writes nothing and reports those keys
with the values stored under them; the conflict check (``conflicts``) decides, outside any
transaction, which are redeliveries and which are conflicts to quarantine, and the batch is
stored again with those keys set aside and the conflicts' quarantine rows added. Keys only get
taken, so each new attempt sets aside more rows: the loop ends.
"""

from __future__ import annotations

from collections.abc import Sequence

from carprivacy.domain.telemetry import QuarantineRow, StoredValue, TelemetryRow
from carprivacy.services.ingestion.conflicts import ConflictResolver
from carprivacy.services.ingestion.ports import TelemetryRepository


def store_batch(
    telemetry: TelemetryRepository,
    rows: Sequence[TelemetryRow],
    quarantine: Sequence[QuarantineRow],
    conflicts: ConflictResolver,
) -> list[int]:
    """Store the batch; the positions in ``rows`` of those whose key was already taken
    (redeliveries, and conflicts: those are in ``conflicts.refused``), in order."""
    taken: dict[int, StoredValue] = {}
    decided: list[QuarantineRow] = []  # the conflicts' quarantine rows
    for _ in range(len(rows) + 1):
        outcome = telemetry.store(rows, [*quarantine, *decided] if decided else quarantine, taken)
        if outcome.committed:
            return sorted(taken)
        found = {p: v for p, v in outcome.taken.items() if p not in taken}
        if not found:
            raise RuntimeError("the telemetry store refused the batch without naming a taken key")
        taken.update(found)
        decided.extend(conflicts.resolve(found))
    raise RuntimeError("the telemetry store kept finding taken keys")  # pragma: no cover
