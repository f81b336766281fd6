"""Validate (SPEC I1): the full check of a record off the common path, against the signal
catalogue (``domain.signals.validation.validate_record``): every problem at once, each naming the
record as its sender numbered it, the field and the rule, never the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from carprivacy.domain.errors import Problem
from carprivacy.domain.signals.catalogue import SignalCatalogue
from carprivacy.domain.signals.validation import validate_record
from carprivacy.domain.telemetry import encode_value
from carprivacy.services.ingestion.parse import Entry


def check(
    catalogue: SignalCatalogue,
    entries: Mapping[str, Entry],
    record: object,
    at: int,
    *,
    vehicle_vin: str | None,
    received_at: datetime,
    max_future_skew: timedelta,
) -> tuple[str, datetime, Entry, str] | list[Problem]:
    """(VIN, UTC time, entry, stored text of the value) of a valid record, else its problems.
    ``at``: the record's index as its sender numbered it."""
    ok, found = validate_record(
        catalogue,
        record,
        at,
        transport_vin=vehicle_vin,
        now=received_at,
        max_future_skew=max_future_skew,
    )
    if ok is None:
        return found
    return ok.vin, ok.ts, entries[ok.signal.name], encode_value(ok.value)
