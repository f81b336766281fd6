"""An in-memory stand-in for ``services.ingestion.pipeline.IngestService`` (its interface).

It keeps what a transport needs to be tested against: records stored once per
(vin, signal, ts, source) like the real store's insert dedupe, whole messages quarantined with their
problem, and a switch that makes the store "unavailable" to exercise retry paths. Thread-safe.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from carprivacy.domain.errors import Problem, StoreUnavailableError


@dataclass(frozen=True)
class FakeRecordStatus:
    index: int
    status: str
    errors: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class FakeIngestResult:
    accepted: int
    rejected: int
    statuses: list[FakeRecordStatus]


@dataclass(frozen=True)
class QuarantinedMessage:
    raw: bytes
    problem: Problem
    source: str
    vehicle_vin: str | None


class StoreDownError(StoreUnavailableError):
    """Raised while ``available`` is False: what a dropped database connection looks like."""


class InMemoryIngestService:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.stored: dict[tuple[str, str, str, str], Any] = {}
        self.rejected: list[tuple[Mapping[str, Any], Problem]] = []
        self.quarantined: list[QuarantinedMessage] = []
        self.calls = 0
        self.available = True

    def ingest(
        self,
        records: Sequence[Mapping[str, Any]],
        *,
        source: str,
        vehicle_vin: str | None,
        received_at: datetime,
        positions: Sequence[int] | None = None,
    ) -> FakeIngestResult:
        with self._lock:
            if not self.available:
                raise StoreDownError("store unavailable")
            self.calls += 1
            statuses: list[FakeRecordStatus] = []
            for index, record in enumerate(records):
                at = index if positions is None else positions[index]
                problem = self._check(at, record, vehicle_vin)
                if problem is not None:
                    self.rejected.append((record, problem))
                    statuses.append(FakeRecordStatus(index, "rejected", [problem]))
                    continue
                vin = str(record.get("vin") or vehicle_vin)
                key = (vin, str(record["signal"]), str(record["ts"]), source)
                self.stored.setdefault(key, record["value"])
                statuses.append(FakeRecordStatus(index, "accepted"))
            accepted = sum(1 for s in statuses if s.status == "accepted")
            return FakeIngestResult(accepted, len(statuses) - accepted, statuses)

    @staticmethod
    def _check(index: int, record: Mapping[str, Any], vin: str | None) -> Problem | None:
        if not isinstance(record.get("signal"), str):
            return Problem(f"records[{index}].signal", "required", "a VSS signal name")
        if "value" not in record or isinstance(record["value"], dict | list):
            return Problem(f"records[{index}].value", "type", "a number, boolean or string")
        try:
            ts = datetime.fromisoformat(str(record.get("ts")))
        except ValueError:
            return Problem(f"records[{index}].ts", "format", "ISO 8601 with timezone")
        if ts.tzinfo is None:
            return Problem(f"records[{index}].ts", "timezone", "ISO 8601 with timezone")
        if not (record.get("vin") or vin):
            return Problem(f"records[{index}].vin", "required", "the vehicle is not named")
        return None

    def quarantine_message(
        self,
        raw: bytes,
        problem: Problem,
        *,
        source: str,
        vehicle_vin: str | None,
        received_at: datetime,
    ) -> None:
        with self._lock:
            if not self.available:
                raise StoreDownError("store unavailable")
            self.quarantined.append(QuarantinedMessage(raw, problem, source, vehicle_vin))

    def stored_count(self) -> int:
        with self._lock:
            return len(self.stored)
