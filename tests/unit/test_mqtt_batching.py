"""The worker's batch/ack logic without a broker: acks follow commits, never lead.

The paho client is replaced by a recorder of acknowledgements; the store is the in-memory fake.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from carprivacy.adapters.mqtt.worker import Delivery, MqttIngestWorker, MqttWorkerConfig
from carprivacy.domain.errors import StoreUnavailableError
from carprivacy.testing.ingest import FakeIngestResult, InMemoryIngestService

VIN = "WMW33333333000003"
NOW = datetime(2026, 11, 25, 8, tzinfo=UTC)


class Journal(InMemoryIngestService):
    """The fake store, writing every commit into a shared journal; 'poison' values make it fail."""

    def __init__(self, journal: list[str]) -> None:
        super().__init__()
        self.journal = journal

    def ingest(
        self,
        records: Sequence[Mapping[str, Any]],
        *,
        source: str,
        vehicle_vin: str | None,
        received_at: datetime,
        positions: Sequence[int] | None = None,
    ) -> FakeIngestResult:
        if any(r.get("value") == "poison" for r in records):
            raise RuntimeError("a bug in the store")
        result = super().ingest(
            records,
            source=source,
            vehicle_vin=vehicle_vin,
            received_at=received_at,
            positions=positions,
        )
        self.journal.append(f"commit:{len(records)}")
        return result

    def quarantine_message(self, raw: bytes, problem: Any, **kwargs: Any) -> None:
        super().quarantine_message(raw, problem, **kwargs)
        self.journal.append(f"quarantine:{problem.rule}")


class AckRecorder:
    def __init__(self, journal: list[str]) -> None:
        self.journal = journal

    def ack(self, mid: int, qos: int) -> int:
        self.journal.append(f"ack:{mid}")
        return 0


def make(journal: list[str]) -> tuple[MqttIngestWorker, Journal]:
    sink = Journal(journal)
    worker = MqttIngestWorker(MqttWorkerConfig(topic="vehicles/+/telemetry"), sink)
    worker._client = AckRecorder(journal)  # type: ignore[assignment]
    worker._conn.generation, worker._conn.connected = 1, True
    return worker, sink


def delivery(mid: int, payload: Any, *, generation: int = 1, raw: bytes | None = None) -> Delivery:
    body = raw if raw is not None else json.dumps(payload).encode()
    return Delivery(mid, 1, f"vehicles/{VIN}/telemetry", body, NOW, generation)


def rec(i: int, value: Any = 1.0) -> dict[str, Any]:
    return {"signal": "Vehicle.Speed", "value": value, "ts": f"2026-11-25T07:00:{i:02d}+00:00"}


def test_one_commit_for_the_batch_then_every_ack() -> None:
    journal: list[str] = []
    worker, sink = make(journal)
    worker._process([delivery(m, [rec(m), rec(m + 30)]) for m in range(1, 6)])
    assert journal == ["commit:10", "ack:1", "ack:2", "ack:3", "ack:4", "ack:5"]
    assert sink.stored_count() == 10


def test_malformed_messages_are_quarantined_before_their_ack() -> None:
    journal: list[str] = []
    worker, _ = make(journal)
    worker._process([delivery(1, [rec(1)]), delivery(2, None, raw=b"{oops")])
    assert journal[0] == "commit:1"
    assert journal.index("quarantine:json") < journal.index("ack:2")
    assert sorted(j for j in journal if j.startswith("ack")) == ["ack:1", "ack:2"]


def test_a_poison_message_is_quarantined_alone_and_the_rest_is_stored() -> None:
    journal: list[str] = []
    worker, sink = make(journal)
    batch = [delivery(1, [rec(1)]), delivery(2, [rec(2, "poison")]), delivery(3, [rec(3)])]
    worker._process(batch)
    assert sink.stored_count() == 2
    assert [q.problem.rule for q in sink.quarantined] == ["ingest_failed"]
    assert sorted(j for j in journal if j.startswith("ack")) == ["ack:1", "ack:2", "ack:3"]
    # the failure reason names the error type, never the payload
    assert "poison" not in sink.quarantined[0].problem.message


def test_when_the_store_is_down_nothing_is_acknowledged() -> None:
    journal: list[str] = []
    worker, sink = make(journal)
    sink.available = False
    batch = [delivery(1, [rec(1)]), delivery(2, None, raw=b"[]")]
    with pytest.raises(StoreUnavailableError) as caught:
        worker._commit(batch)
    assert [d.mid for d in caught.value.args[0]] == [1, 2]
    assert journal == []


def test_messages_of_an_earlier_connection_are_not_acknowledged_on_the_new_one() -> None:
    journal: list[str] = []
    worker, sink = make(journal)
    worker._conn.generation = 2  # reconnected: the broker resends generation-1 messages itself
    worker._process([delivery(1, [rec(1)], generation=1), delivery(2, [rec(2)], generation=2)])
    assert sink.stored_count() == 2
    assert [j for j in journal if j.startswith("ack")] == ["ack:2"]


def test_nothing_is_acknowledged_while_disconnected() -> None:
    journal: list[str] = []
    worker, sink = make(journal)
    worker._conn.connected = False
    worker._process([delivery(1, [rec(1)])])
    assert sink.stored_count() == 1 and journal == ["commit:1"]


class LockedOnce(Journal):
    """The store fails the whole batch, then once more for one message: a lock, not bad data."""

    def __init__(self, journal: list[str]) -> None:
        super().__init__(journal)
        self.failures = 2

    def ingest(self, records: Sequence[Mapping[str, Any]], **kwargs: Any) -> FakeIngestResult:
        if self.failures:
            self.failures -= 1
            from sqlalchemy.exc import OperationalError

            raise OperationalError("INSERT", {}, Exception("database is locked"))
        return super().ingest(records, **kwargs)


def test_a_transient_store_error_is_never_quarantined_and_acknowledged() -> None:
    """A lock during the per-message retry must not turn good data into
    quarantine; the message stays unacknowledged so the broker delivers it again."""
    journal: list[str] = []
    sink = LockedOnce(journal)
    worker = MqttIngestWorker(MqttWorkerConfig(topic="vehicles/+/telemetry"), sink)
    worker._client = AckRecorder(journal)  # type: ignore[assignment]
    worker._conn.generation, worker._conn.connected = 1, True
    with pytest.raises(StoreUnavailableError) as caught:
        worker._commit([delivery(1, [rec(1)]), delivery(2, [rec(2)])])
    assert [d.mid for d in caught.value.args[0]] == [1, 2]
    assert sink.quarantined == [] and not any(j.startswith("ack") for j in journal)
