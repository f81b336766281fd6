"""The telemetry store only stores (SPEC I1): a batch with a taken natural key is written not at
all and the store says which keys and what is stored under them; stored again with those keys set
aside, the batch and its quarantine rows commit together. Same on SQLite, PostgreSQL and the
in-memory fake (which the service tests use)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from carprivacy.adapters.db.repositories.telemetry import SqlTelemetryRepository
from carprivacy.domain.errors import Problem
from carprivacy.domain.telemetry import QuarantineRow, StoredValue, TelemetryRow
from carprivacy.testing.telemetry import InMemoryTelemetryRepository

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def row(value: str, seconds: int = 0) -> TelemetryRow:
    return TelemetryRow(
        "veh-1",
        "alice",
        None,
        "subject:alice",
        "Vehicle.TraveledDistance",
        "vehicle_status",
        "km",
        value,
        None,
        T0 + timedelta(seconds=seconds),
        T0 + timedelta(minutes=1),
        "http",
        ("contract_performance",),
        None,
    )


def quarantined(index: int) -> QuarantineRow:
    return QuarantineRow(
        "http",
        "veh-1",
        index,
        (Problem(f"records[{index}].value", "conflicting_duplicate", "another value"),),
        "subject:alice",
        b"sealed",
        T0 + timedelta(minutes=1),
        T0 + timedelta(weeks=4),
    )


@pytest.fixture(params=["sql", "fake"])
def repo(request: pytest.FixtureRequest, engine: Engine):
    return (
        SqlTelemetryRepository(engine) if request.param == "sql" else InMemoryTelemetryRepository()
    )


def test_a_taken_key_writes_nothing_and_is_reported_with_its_stored_value(repo):
    assert repo.store([row("1")], []).committed
    batch = [row("2", 5), row("9"), row("3", 6), row("4", 6)]  # 1: stored key; 3: repeats 2
    outcome = repo.store(batch, [quarantined(7)])
    assert not outcome.committed
    assert dict(outcome.taken) == {
        1: StoredValue("1", None, "subject:alice"),
        3: StoredValue("3", None, "subject:alice"),
    }
    assert repo.count() == 1 and repo.quarantine() == []  # nothing of the batch was written
    again = repo.store(batch, [quarantined(7), quarantined(1)], outcome.taken.keys())
    assert again.committed
    assert repo.count() == 3
    assert [q.record_index for q in repo.quarantine()] == [7, 1]
    assert sorted(r.value for r in repo.rows_for_vehicle("veh-1")) == ["1", "2", "3"]
