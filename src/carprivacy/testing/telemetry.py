"""In-memory fakes of the ingestion ports: the telemetry store, the vehicle directory and the
data-key store. Same behaviour as the SQL ones (natural-key dedupe, tombstoned keys, one
all-or-nothing ``store``), no I/O. For carprivacy's tests and users' tests."""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from carprivacy.adapters.crypto.envelope import Rewrap, StoredDataKey
from carprivacy.domain.telemetry import (
    QuarantineRow,
    StoredReading,
    StoredValue,
    TelemetryRow,
    TelemetryWindow,
)
from carprivacy.domain.vehicle_usage import VehicleUsage
from carprivacy.services.ingestion.ports import StoreOutcome, VehicleInfo


class InMemoryTelemetryRepository:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.rows: dict[tuple[str, str, datetime, str], TelemetryRow] = {}
        self.quarantined: list[QuarantineRow] = []
        self.ids: dict[tuple[str, str, datetime, str], int] = {}  # row ids, in insertion order
        self.fail_next_store = False  # simulate a crash before commit: nothing is written

    def store(
        self,
        rows: Sequence[TelemetryRow],
        quarantine: Sequence[QuarantineRow],
        taken: Collection[int] = (),
    ) -> StoreOutcome:
        with self._lock:
            if self.fail_next_store:
                self.fail_next_store = False
                raise ConnectionError("store unavailable")
            added: dict[tuple[str, str, datetime, str], TelemetryRow] = {}
            stored: dict[int, StoredValue] = {}
            for position, r in enumerate(rows):
                if position in taken:
                    continue
                key = (r.vehicle_id, r.signal, r.ts, r.source)
                first = self.rows.get(key) or added.get(key)
                if first is None:
                    added[key] = r
                else:
                    stored[position] = StoredValue(
                        first.value, first.value_ciphertext, first.key_owner
                    )
            if stored:  # a taken key: nothing is written, as a rolled-back transaction
                return StoreOutcome(False, stored)
            # all or nothing, as one transaction
            self.rows.update(added)
            for key in added:
                self.ids[key] = len(self.ids) + 1
            self.quarantined.extend(quarantine)
            return StoreOutcome(True)

    def count(self) -> int:
        return len(self.rows)

    def rows_for_vehicle(self, vehicle_id: str) -> list[TelemetryRow]:
        found = [r for r in self.rows.values() if r.vehicle_id == vehicle_id]
        return sorted(found, key=lambda r: (r.ts, r.signal))

    def quarantine(self) -> list[QuarantineRow]:
        return list(self.quarantined)

    def window(
        self, window: TelemetryWindow, after: tuple[datetime, int] | None, limit: int
    ) -> list[StoredReading]:
        if window.vehicle_id is None and window.subject_id is None:
            raise ValueError("a telemetry window names its vehicle or its subject")
        with self._lock:
            rows = [(self.ids[k], r) for k, r in self.rows.items()]
        w = window
        found = [
            (i, r)
            for i, r in rows
            if (w.vehicle_id is None or r.vehicle_id == w.vehicle_id)
            and (w.subject_id is None or r.subject_id == w.subject_id)
            and (w.start is None or r.ts >= w.start)
            and (w.end is None or r.ts < w.end)
            and (not w.signals or r.signal in w.signals)
            and (not w.categories or r.category in w.categories)
            and (w.live_at is None or r.expires_at is None or r.expires_at > w.live_at)
            and (after is None or ((r.ts, i) < after if w.newest_first else (r.ts, i) > after))
        ]
        found.sort(key=lambda x: (x[1].ts, x[0]), reverse=w.newest_first)
        return [
            StoredReading(
                i,
                r.vehicle_id,
                r.subject_id,
                r.fleet_id,
                r.key_owner,
                r.signal,
                r.category,
                r.unit,
                r.value,
                r.value_ciphertext,
                r.ts,
                r.source,
                r.expires_at,
            )
            for i, r in found[:limit]
        ]


class InMemoryVehicleDirectory:
    def __init__(self) -> None:
        self.vehicles: dict[str, VehicleInfo] = {}

    def add(self, vehicle: VehicleInfo) -> None:
        self.vehicles[vehicle.vin] = vehicle

    def add_usage(self, vin: str, usage: VehicleUsage) -> None:
        v = self.vehicles[vin]
        self.vehicles[vin] = VehicleInfo(v.id, v.vin, v.end_of_life, (*v.usages, usage))

    def by_vins(self, vins: Collection[str]) -> dict[str, VehicleInfo]:
        return {vin: self.vehicles[vin] for vin in vins if vin in self.vehicles}


class InMemoryDataKeyRepository:
    def __init__(self) -> None:
        self.keys: dict[str, StoredDataKey] = {}
        self.retired: dict[str, datetime] = {}  # master key id -> retired at
        self._lock = threading.Lock()
        self._rotation = threading.Lock()

    def get_many(self, owners: Iterable[str]) -> dict[str, StoredDataKey]:
        return {o: self.keys[o] for o in owners if o in self.keys}

    def add_if_absent(self, key: StoredDataKey) -> None:
        with self._lock:
            if key.master_key_id not in self.retired:
                self.keys.setdefault(key.owner, key)

    def destroy(self, owner: str, at: datetime) -> None:
        with self._lock:
            old = self.keys.get(owner)
            self.keys[owner] = StoredDataKey(owner, None, None, old.created_at if old else at, at)

    def all_keys(self) -> list[StoredDataKey]:
        """Every key, destroyed ones too, in owner order (for tests to look at)."""
        with self._lock:
            return sorted(self.keys.values(), key=lambda k: k.owner)

    def live_page(self, after: str | None, limit: int, not_under: str) -> list[StoredDataKey]:
        return [
            k
            for k in self.all_keys()
            if k.wrapped is not None
            and k.master_key_id != not_under
            and (after is None or k.owner > after)
        ][:limit]

    def rewrap(self, updates: list[Rewrap]) -> int:
        moved = 0
        with self._lock:
            for u in updates:
                old = self.keys.get(u.owner)
                if old is not None and old.wrapped is not None and old.master_key_id == u.was:
                    self.keys[u.owner] = StoredDataKey(
                        u.owner, u.wrapped, u.master_key_id, old.created_at
                    )
                    moved += 1
        return moved

    def retire_master_key(self, master_key_id: str, at: datetime) -> None:
        with self._lock:
            self.retired.setdefault(master_key_id, at)

    def retired_master_keys(self) -> set[str]:
        return set(self.retired)

    def live_master_key_ids(self) -> set[str]:
        with self._lock:
            return {k.master_key_id for k in self.keys.values() if k.wrapped and k.master_key_id}

    def live_not_under(self, master_key_id: str) -> int:
        with self._lock:
            keys = list(self.keys.values())
        return sum(1 for k in keys if k.wrapped is not None and k.master_key_id != master_key_id)

    @contextmanager
    def rotation_lock(self, waiting: Callable[[], None] = lambda: None) -> Iterator[None]:
        if not self._rotation.acquire(blocking=False):
            waiting()
            self._rotation.acquire()
        try:
            yield
        finally:
            self._rotation.release()
