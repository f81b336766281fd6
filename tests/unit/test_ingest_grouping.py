"""Concurrent HTTP uploads joined into ingestion turns answer exactly as each alone (SPEC I1, U1):
the same statuses numbered within each upload, the same problem paths and quarantine, the same
stored rows; an upload that cannot be joined runs alone, and a failed joined call is retried
upload by upload. A turn takes at most ``turn_records`` records; the credentials of a turn are
looked up at once, a body refusal is answered only after the credential; a full queue refuses an
upload at once (503 with Retry-After), nothing of it stored."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

import pytest
from tests.unit.test_ingest_service import NOW, OTHER_VIN, T0, VIN, make_world

from carprivacy.domain.errors import (
    AuthenticationError,
    IngestBusyError,
    MalformedPayloadError,
)
from carprivacy.services.ingestion.grouping import GroupedIngest, _Upload, joinable
from carprivacy.services.ingestion.pipeline import IngestResult, IngestService
from carprivacy.services.ingestion.vehicle_credentials import (
    VehicleCredentialService,
    token_hash,
)


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
TOKENS = {VIN: "cpv_token-of-vehicle-one", OTHER_VIN: "cpv_token-of-vehicle-two"}


class Credentials:
    """The credential port: live tokens by hash; counts the lookups."""

    def __init__(self) -> None:
        self.live = {token_hash(t): vin for vin, t in TOKENS.items()}
        self.lookups: list[int] = []

    def add(self, credential_id: str, vehicle_id: str, token_sha256: str, at: datetime) -> None:
        raise NotImplementedError

    def vin_for(self, token_sha256: str) -> str | None:
        return self.live.get(token_sha256)

    def vins_for(self, token_sha256s: Collection[str]) -> dict[str, str]:
        self.lookups.append(len(token_sha256s))
        return {h: self.live[h] for h in token_sha256s if h in self.live}

    def revoke_all(self, vehicle_id: str, at: datetime) -> int:
        raise NotImplementedError


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


class Held:
    """The world's ingestion, its first call held until released; records each call's size."""

    def __init__(self, service: IngestService) -> None:
        self.release, self.entered = threading.Event(), threading.Event()
        self.calls: list[int] = []
        real = service.ingest

        def held(records: Any, **kwargs: Any) -> IngestResult:
            self.calls.append(len(records))
            if len(self.calls) == 1:
                self.entered.set()
                self.release.wait(10)
            return real(records, **kwargs)

        service.ingest = held  # type: ignore[method-assign]


def grouped_for(service: IngestService, **options: Any) -> tuple[GroupedIngest, Credentials]:
    repo = Credentials()
    credentials = VehicleCredentialService(repo, lambda: NOW)
    return GroupedIngest(service, credentials, **options), repo


async def queued(grouped: GroupedIngest, n: int) -> None:
    """Until ``n`` uploads wait (the first turn is held)."""
    deadline = time.monotonic() + 10
    while len(grouped._pending) < n:  # noqa: SLF001 - the queue is what these tests watch
        assert time.monotonic() < deadline
        await asyncio.sleep(0.005)


def send(grouped: GroupedIngest, vin: str, records: list[Any], **kwargs: Any) -> Any:
    return asyncio.ensure_future(
        grouped.ingest(records, token=TOKENS[vin], received_at=NOW, **kwargs)
    )


def test_joined_uploads_answer_and_store_as_each_alone() -> None:
    alone_world = make_world()
    alone = [
        answers(alone_world[0].ingest(r, source="http", vehicle_vin=v, received_at=NOW))
        for v, r in UPLOADS
    ]
    world = make_world()
    held = Held(world[0])
    grouped, credentials = grouped_for(world[0])

    async def scenario() -> list[Any]:
        first = send(grouped, *UPLOADS[0])
        assert await asyncio.to_thread(held.entered.wait, 10)  # the first holds the turn
        rest = [send(grouped, *UPLOADS[i]) for i in (1, 2, 3)]
        await queued(grouped, 3)
        held.release.set()
        return [answers(r) for r in await asyncio.gather(first, *rest)]

    assert asyncio.run(scenario()) == alone
    assert held.calls == [2, 6]  # the first alone, then the three waiting ones as one call
    assert credentials.lookups == [1, 2]  # one lookup per turn (two vehicles in the second)
    assert list(grouped.turns) == [1, 3]
    assert stored(world) == stored(alone_world)
    assert quarantined(world) == quarantined(alone_world)


def test_a_turn_takes_at_most_turn_records_records() -> None:
    world = make_world()
    held = Held(world[0])
    grouped, _ = grouped_for(world[0], turn_records=4)
    uploads = [
        [rec("Vehicle.Speed", 40.0 + i, 10 + i), rec("Vehicle.TraveledDistance", 100 + i, 10 + i)]
        for i in range(5)
    ]

    async def scenario() -> list[IngestResult]:
        first = send(grouped, VIN, uploads[0])
        assert await asyncio.to_thread(held.entered.wait, 10)
        rest = [send(grouped, VIN, u) for u in uploads[1:]]
        await queued(grouped, 4)
        held.release.set()
        return list(await asyncio.gather(first, *rest))

    results = asyncio.run(scenario())
    assert [r.accepted for r in results] == [2] * 5
    assert list(grouped.turns) == [1, 2, 2]  # 4 waiting uploads of 2 records: two turns of 4
    assert held.calls == [2, 4, 4]
    with pytest.raises(ValueError):
        GroupedIngest(world[0], turn_records=0)


def test_a_full_queue_refuses_at_once_with_retry_after_and_stores_nothing() -> None:
    world = make_world()
    held = Held(world[0])
    grouped, _ = grouped_for(world[0], queue_records=4)
    two = [
        [rec("Vehicle.Speed", 50.0 + i, 20 + i), rec("Vehicle.Speed", 60.0 + i, 30 + i)]
        for i in range(4)
    ]

    async def scenario() -> tuple[list[IngestResult], IngestBusyError]:
        first = send(grouped, VIN, two[0])  # taken by the turn at once: nothing waits
        assert await asyncio.to_thread(held.entered.wait, 10)
        waiting = [send(grouped, VIN, two[1]), send(grouped, VIN, two[2])]  # 4 records wait
        await queued(grouped, 2)
        started = time.monotonic()
        with pytest.raises(IngestBusyError) as refused:
            await grouped.ingest(two[3], token=TOKENS[VIN], received_at=NOW)
        assert time.monotonic() - started < 1  # answered at once, not after the queue
        held.release.set()
        return list(await asyncio.gather(first, *waiting)), refused.value

    results, busy = asyncio.run(scenario())
    assert [r.accepted for r in results] == [2, 2, 2]
    assert busy.retry_after >= 1 and busy.queued_records == 4
    times = {r[2] for r in stored(world)}
    assert len(times) == 6 and T0 + timedelta(seconds=23) not in times  # refused: nothing stored


def test_credentials_are_checked_per_upload_before_the_body_refusal() -> None:
    world = make_world()
    held = Held(world[0])
    grouped, credentials = grouped_for(world[0])
    refusal = MalformedPayloadError("malformed JSON: x", line=1, column=1, position=0)

    async def scenario() -> list[Any]:
        first = send(grouped, VIN, [rec("Vehicle.Speed", 1.0, 40)])
        assert await asyncio.to_thread(held.entered.wait, 10)
        tasks = [
            send(grouped, VIN, [rec("Vehicle.Speed", 2.0, 41)]),
            asyncio.ensure_future(  # a revoked or unknown credential, in the same turn
                grouped.ingest(
                    [rec("Vehicle.Speed", 3.0, 42)], token="cpv_revoked", received_at=NOW
                )
            ),
            asyncio.ensure_future(  # unknown credential and a broken body: 401 first
                grouped.ingest([], token="cpv_unknown", received_at=NOW, refusal=refusal)
            ),
            send(grouped, OTHER_VIN, [], refusal=refusal),  # good credential: the body's refusal
        ]
        await queued(grouped, 4)
        held.release.set()
        return list(await asyncio.gather(first, *tasks, return_exceptions=True))

    first, good, revoked, unknown, broken = asyncio.run(scenario())
    assert first.accepted == 1 and good.accepted == 1
    assert isinstance(revoked, AuthenticationError) and isinstance(unknown, AuthenticationError)
    assert broken is refusal
    assert credentials.lookups == [1, 4]  # the second turn's four tokens in one lookup
    assert {r[2] for r in stored(world)} == {T0 + timedelta(seconds=s) for s in (40, 41)}
    with pytest.raises(AuthenticationError):  # not a vehicle token at all: no lookup
        asyncio.run(grouped.ingest([], token="Bearer x", received_at=NOW))
    assert credentials.lookups == [1, 4]


def test_uploads_that_cannot_be_joined_run_alone() -> None:
    assert joinable([{"signal": "Vehicle.Speed"}], VIN)
    assert not joinable([{"signal": "Vehicle.Speed", "vin": OTHER_VIN}], VIN)
    assert not joinable(["not an object"], VIN)
    world = make_world()
    grouped, _ = grouped_for(world[0])
    mismatch = [{**rec("Vehicle.Speed", 40.0, 1), "vin": OTHER_VIN}]
    result = asyncio.run(grouped.ingest(mismatch, token=TOKENS[VIN], received_at=NOW))
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
    uploads = [_Upload(records, NOW, vin=vin) for vin, records in UPLOADS[:3]]
    grouped._run(uploads)  # noqa: SLF001 - the turn of three waiting uploads
    alone_world = make_world()
    expected = [
        answers(alone_world[0].ingest(r, source="http", vehicle_vin=v, received_at=NOW))
        for v, r in UPLOADS[:3]
    ]
    assert [answers(u.result) for u in uploads if u.result is not None] == expected
    assert stored(world) == stored(alone_world)
