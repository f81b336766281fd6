"""Concurrent HTTP uploads joined into one ingestion call answer exactly as each alone (SPEC I1):
the same statuses numbered within each upload, the same problem paths and quarantine, the same
stored rows; an upload that cannot be joined runs alone, and a failed joined call is retried
upload by upload."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

from tests.unit.test_ingest_service import NOW, OTHER_VIN, T0, VIN, make_world

from carprivacy.services.ingestion.grouping import GroupedIngest, _Upload, joinable
from carprivacy.services.ingestion.pipeline import IngestResult, IngestService


def rec(signal: str, value: object, seconds: int) -> dict[str, object]:
    return {"signal": signal, "value": value, "ts": (T0 + timedelta(seconds=seconds)).isoformat()}


UPLOADS: list[tuple[str, list[dict[str, Any]]]] = [
    (VIN, [rec("Vehicle.Speed", 40.0, 1), rec("Vehicle.TraveledDistance", 12345, 1)]),
    (
        VIN,
        [
            rec("Vehicle.Speed", "fast", 2),  # refused: records[0].value
            {**rec("Vehicle.Speed", 41.0, 3), "vin": VIN},  # names its own vehicle: joinable
            rec("Vehicle.Unknown.Thing", 1, 3),  # refused: records[2].signal
        ],
    ),
    (OTHER_VIN, [rec("Vehicle.Speed", 42.0, 4), {"signal": "Vehicle.Speed", "ts": "yesterday"}]),
    (VIN, [rec("Vehicle.Speed", 40.0, 1)]),  # already stored by the first upload: duplicate
]


def answers(result: IngestResult) -> tuple[Any, ...]:
    return (
        result.accepted,
        result.rejected,
        result.duplicates,
        [(s.index, s.status, [(e.path, e.rule) for e in s.errors]) for s in result.statuses],
    )


def stored(world: tuple[Any, ...]) -> set[tuple[Any, ...]]:
    _, repo, _ = world
    return {(r.vehicle_id, r.signal, r.ts, r.value, r.subject_id) for r in repo.rows.values()}


def quarantined(world: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    _, repo, _ = world
    return sorted((q.vehicle_id, q.record_index, q.reasons) for q in repo.quarantined)


def test_joined_uploads_answer_and_store_as_each_alone() -> None:
    alone_world = make_world()
    alone = [
        answers(alone_world[0].ingest(r, source="http", vehicle_vin=v, received_at=NOW))
        for v, r in UPLOADS
    ]

    world = make_world()
    service: IngestService = world[0]
    release, entered = threading.Event(), threading.Event()
    real = service.ingest
    calls: list[int] = []

    def held(records: Any, **kwargs: Any) -> IngestResult:
        calls.append(len(records))
        if len(calls) == 1:
            entered.set()
            release.wait(10)
        return real(records, **kwargs)

    service.ingest = held  # type: ignore[method-assign]
    grouped = GroupedIngest(service)
    results: dict[int, tuple[Any, ...]] = {}

    def upload(i: int) -> None:
        vin, records = UPLOADS[i]
        results[i] = answers(grouped.ingest(records, vehicle_vin=vin, received_at=NOW))

    first = threading.Thread(target=upload, args=(0,))
    first.start()
    assert entered.wait(10)  # the first upload holds the turn; the others wait together
    rest = [threading.Thread(target=upload, args=(i,)) for i in (1, 2, 3)]
    for t in rest:
        t.start()
    while len(grouped._pending) < 3:  # noqa: SLF001 - wait until all three are queued
        time.sleep(0.01)
    release.set()
    for t in [first, *rest]:
        t.join(10)

    assert calls == [2, 6]  # the first alone, then the three waiting ones as one call
    assert [results[i] for i in range(4)] == alone
    assert stored(world) == stored(alone_world)
    assert quarantined(world) == quarantined(alone_world)


def test_uploads_that_cannot_be_joined_run_alone() -> None:
    assert joinable([{"signal": "Vehicle.Speed"}], VIN)
    assert not joinable([{"signal": "Vehicle.Speed", "vin": OTHER_VIN}], VIN)
    assert not joinable(["not an object"], VIN)
    world = make_world()
    grouped = GroupedIngest(world[0])
    mismatch = [{**rec("Vehicle.Speed", 40.0, 1), "vin": OTHER_VIN}]
    result = grouped.ingest(mismatch, vehicle_vin=VIN, received_at=NOW)
    alone = make_world()[0].ingest(mismatch, source="http", vehicle_vin=VIN, received_at=NOW)
    assert answers(result) == answers(alone) and result.rejected == 1
    assert grouped.calls == 0  # never part of a joined call


def test_a_failed_joined_call_is_retried_upload_by_upload() -> None:
    world = make_world()
    service: IngestService = world[0]
    real = service.ingest

    def fails_when_joined(records: Any, **kwargs: Any) -> IngestResult:
        if kwargs.get("vehicle_vin") is None:
            raise RuntimeError("joined call failed")
        return real(records, **kwargs)

    service.ingest = fails_when_joined  # type: ignore[method-assign]
    grouped = GroupedIngest(service)
    uploads = [_Upload(records, vin, NOW) for vin, records in UPLOADS[:3]]
    grouped._run(uploads)  # noqa: SLF001 - the joined call of three waiting uploads
    alone_world = make_world()
    expected = [
        answers(alone_world[0].ingest(r, source="http", vehicle_vin=v, received_at=NOW))
        for v, r in UPLOADS[:3]
    ]
    assert [answers(u.result) for u in uploads if u.result is not None] == expected
    assert stored(world) == stored(alone_world)
