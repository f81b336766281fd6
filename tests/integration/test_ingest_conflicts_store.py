"""Redelivery vs conflict and quarantine sealing on the real stores, SQLite and PostgreSQL
(SPEC I1, I3, R3).

The SQL stores report what is stored under a taken natural key, on both of their paths (SQLite
row by row, PostgreSQL staging table), and write nothing; the service tells a redelivery (same
value) from a conflict (another value), and stores the batch again, the conflict refused and
quarantined in the same transaction as the batch's new rows.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select
from tests.integration.test_ingest_store import NOW, T0, VIN, batch, container, ids_of

from carprivacy.adapters.db.repositories.telemetry import SqlTelemetryRepository
from carprivacy.adapters.db.tables.telemetry import telemetry, telemetry_quarantine
from carprivacy.bootstrap import Services
from carprivacy.domain.telemetry import PAYLOAD_WITHHELD, aad_for, decode_value
from carprivacy.services.ingestion.quarantine import QuarantineSealer

__all__ = ["container"]

LAT = "Vehicle.CurrentLocation.Latitude"  # sensitive
MILEAGE = "Vehicle.TraveledDistance"  # plain


def counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(telemetry)).scalar_one()
        quarantined = conn.execute(
            select(func.count()).select_from(telemetry_quarantine)
        ).scalar_one()
    return rows, quarantined


def stored_values(container: Services) -> dict[tuple[str, str], object]:
    repo = container.telemetry
    out: dict[tuple[str, str], object] = {}
    for row in repo.rows_for_vehicle(ids_of(container)["vehicle"]):
        text = row.value
        if text is None:
            aad = aad_for(row.vehicle_id, row.signal, row.ts, row.source)
            text = container.cipher.decrypt(row.key_owner, row.value_ciphertext, aad).decode()
        out[(row.signal, row.ts.isoformat())] = decode_value(text)
    return out


def ingest(container: Services, records: list[dict[str, object]]):
    return container.ingest.ingest(records, source="mqtt", vehicle_vin=VIN, received_at=NOW)


def test_a_redelivered_batch_with_changed_values_is_told_apart(container, engine):
    first = batch(T0, 20)  # 20 positions (sensitive) + 20 mileages (plain)
    assert ingest(container, first).accepted == 40
    again = [dict(r) for r in first]
    again[2]["value"] = 52.5  # a position changed (even indexes: positions)
    again[10]["value"] = 52.9  # another position
    again[11]["value"] = 123456  # a mileage changed (odd indexes: mileages)
    new = {"signal": MILEAGE, "value": 7, "ts": (T0 - timedelta(hours=1)).isoformat()}
    result = ingest(container, [*again, new])
    by_status = {s.index: (s.status, tuple(e.rule for e in s.errors)) for s in result.statuses}
    for i in (2, 10, 11):
        assert by_status[i] == ("rejected", ("conflicting_duplicate",))
        assert result.statuses[i].errors[0].path == f"records[{i}].value"
    assert by_status[40] == ("accepted", ())
    assert (result.accepted, result.rejected, result.duplicates) == (1, 3, 37)
    assert counts(engine) == (41, 3)
    values = stored_values(container)
    for r in first:  # every stored value is the first one
        assert values[(r["signal"], r["ts"])] == r["value"]
    sealer = QuarantineSealer(container.cipher)
    kept = sorted(
        json.loads(sealer.open(q) or b"null")["value"]
        for q in SqlTelemetryRepository(engine).quarantine()
    )
    assert kept == [52.5, 52.9, 123456]  # the refused values are kept, sealed


def test_a_conflict_inside_one_batch_on_the_slow_path(container, engine):
    ts = T0.isoformat()
    records = [
        {"signal": MILEAGE, "value": 1, "ts": ts},
        {"signal": MILEAGE, "value": 1, "ts": ts},
        {"signal": MILEAGE, "value": 2, "ts": ts},
        {"signal": LAT, "value": 52.0, "ts": ts},
        {"signal": LAT, "value": 52.1, "ts": ts},
    ]
    result = ingest(container, records)
    assert [s.status for s in result.statuses] == [
        "accepted",
        "duplicate",
        "rejected",
        "accepted",
        "rejected",
    ]
    assert counts(engine) == (2, 2)
    assert stored_values(container) == {(MILEAGE, ts): 1, (LAT, ts): 52.0}


def test_a_failing_conflict_check_leaves_nothing_half_written(container, engine, monkeypatch):
    ingest(container, batch(T0, 2))
    import carprivacy.services.ingestion.conflicts as conflicts

    def broken(*args, **kwargs):
        raise RuntimeError("comparison failed")

    monkeypatch.setattr(conflicts, "same_value", broken)
    fresh = {"signal": MILEAGE, "value": 5, "ts": (T0 - timedelta(hours=2)).isoformat()}
    with pytest.raises(RuntimeError):
        ingest(container, [*batch(T0, 2), fresh])
    assert counts(engine) == (4, 0)  # the new record was rolled back with the rest


def test_quarantine_is_sealed_per_subject_and_withheld_after_erasure(container, engine):
    ids = ids_of(container)
    before = T0.isoformat()  # alice's time
    after = (T0 + timedelta(minutes=5)).isoformat()  # bob's time (owner change at T0 + 30 s)
    bad = [
        {"signal": MILEAGE, "value": "x", "ts": before},
        {"signal": MILEAGE, "value": "x", "ts": after},
    ]
    ingest(container, bad)
    repo = SqlTelemetryRepository(engine)
    owners = [q.key_owner for q in repo.quarantine()]
    assert owners == [f"subject:{ids['alice']}", f"subject:{ids['bob']}"]
    container.cipher.destroy_key(f"subject:{ids['alice']}")
    sealer = QuarantineSealer(container.cipher)
    assert [sealer.open(q) is None for q in repo.quarantine()] == [True, False]
    ingest(container, bad[:1])  # alice is erased: only the reasons are kept now
    latest = repo.quarantine()[-1]
    assert latest.payload_ciphertext == PAYLOAD_WITHHELD and latest.reasons[0].rule == "type"


def test_a_conflict_of_a_vehicle_without_a_key_yet_is_quarantined_at_once(container, engine):
    """A fleet car without a driver has only plain values so far: its own key did not exist when
    its first conflict came. The key is made before the store's transaction opens (creating it
    inside would wait for SQLite's write lock on another connection, then fail)."""
    from carprivacy.domain.master import UsageKind

    fleet = container.master.create_fleet("Lease BV", "NL")
    vin = "WMWXX000000000077"
    car = container.master.register_vehicle(vin, "MINI Countryman", "grey")
    container.master.add_usage(car.id, UsageKind.FLEET, T0 - timedelta(days=1), fleet_id=fleet.id)
    ts = T0.isoformat()
    first = container.ingest.ingest(
        [{"signal": MILEAGE, "value": 1, "ts": ts}], source="http", vehicle_vin=vin, received_at=NOW
    )
    assert first.accepted == 1
    again = container.ingest.ingest(
        [{"signal": MILEAGE, "value": 2, "ts": ts}], source="http", vehicle_vin=vin, received_at=NOW
    )
    assert again.statuses[0].errors[0].rule == "conflicting_duplicate"
    (q,) = [q for q in SqlTelemetryRepository(engine).quarantine() if q.vehicle_id == car.id]
    assert q.key_owner == f"vehicle:{car.id}"
    assert json.loads(QuarantineSealer(container.cipher).open(q) or b"{}")["value"] == 2


def test_a_conflict_inside_a_redelivered_batch_keeps_the_first_of_the_batch(container, engine):
    """On the dedupe path (a key already stored), a key new to the store that appears twice in
    the batch with two values keeps the first one, on both databases."""
    ingest(container, batch(T0, 1))  # makes the next batch take the dedupe path
    later = (T0 - timedelta(minutes=10)).isoformat()
    records = [
        *batch(T0, 1),
        {"signal": MILEAGE, "value": 500, "ts": later},
        {"signal": MILEAGE, "value": 501, "ts": later},
    ]
    result = ingest(container, records)
    assert [s.status for s in result.statuses] == ["duplicate", "duplicate", "accepted", "rejected"]
    assert stored_values(container)[(MILEAGE, later)] == 500
