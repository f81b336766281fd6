"""A week of demo telemetry for several vehicles, through ingestion (SPEC I1, I2).

The fleet simulator (``simulation.py``) drives the chosen vehicles through the week before
``end``, one reading per ``interval_s``; every record goes through the ingestion pipeline, so it
is validated, attributed to the vehicle's owner, driver or fleet at its own time, sealed where
sensitive and given its retention, as a car's would be.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from carprivacy.domain.signals import SignalCatalogue
from carprivacy.services.demo.simulation import FleetSimulator
from carprivacy.services.ingestion.pipeline import IngestService

WEEK = timedelta(days=7)
INTERVAL_S = 1800.0  # a reading every half hour: ~10k records per vehicle and week
BATCH = 2000


def load_week(
    ingest: IngestService,
    catalogue: SignalCatalogue,
    vins: Sequence[str],
    end: datetime,
    *,
    seed: int = 0,
    interval_s: float = INTERVAL_S,
) -> int:
    """Ingest a week of simulated telemetry of ``vins`` ending at ``end``; the records accepted."""
    simulator = FleetSimulator(vins, catalogue, start=end - WEEK, seed=seed, interval_s=interval_s)
    accepted = 0
    buffers: dict[str, list[dict[str, Any]]] = {v: [] for v in vins}
    for vin, records in simulator.messages(WEEK.total_seconds() / 60):
        buffer = buffers[vin]
        buffer.extend(records)
        if len(buffer) >= BATCH:
            accepted += ingest.ingest(
                buffer, source="http", vehicle_vin=vin, received_at=end
            ).accepted
            buffer.clear()
    for vin, buffer in buffers.items():
        if buffer:
            accepted += ingest.ingest(
                buffer, source="http", vehicle_vin=vin, received_at=end
            ).accepted
    return accepted
