"""MQTT -> worker -> IngestService -> database, on SQLite and PostgreSQL (I1).

Real Mosquitto, real ingestion service, real store: records arrive attributed to the vehicle's
owner, sensitive values only as ciphertext, a malformed message lands in quarantine, and a message
the broker delivers twice is stored once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from mqtt_support import Publisher, base_config, running_worker, unique, wait_until
from sqlalchemy import Engine, Table, func, select

from carprivacy.adapters.db.tables.telemetry import telemetry, telemetry_quarantine
from carprivacy.bootstrap import Services, bootstrap
from carprivacy.config import load_settings
from carprivacy.entrypoints.cli.commands.simulate import register_demo_fleet
from carprivacy.services.demo.simulation import FleetSimulator, demo_vins

pytestmark = pytest.mark.mqtt


@pytest.fixture
def container(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[Services]:
    settings = load_settings(data_dir=tmp_path, database_url=db_url)
    c = bootstrap(settings, engine=engine)
    yield c


def count(engine: Engine, table: Table, **where: str) -> int:
    query = select(func.count()).select_from(table)
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def test_simulated_fleet_over_mqtt_is_stored_attributed_and_encrypted(
    container: Services, engine: Engine, mqtt_broker: tuple[str, int]
) -> None:
    host, port = mqtt_broker
    base = unique()
    vins = register_demo_fleet(container, demo_vins(3, seed=9))
    assert container.catalogue is not None
    sim = FleetSimulator(
        vins, container.catalogue, start=datetime.now(UTC) - timedelta(minutes=5), seed=9
    )
    messages = list(sim.messages(5))
    sent = sum(len(records) for _, records in messages)
    pub = Publisher(host, port)
    try:
        with running_worker(base_config(host, port, base), container.ingest) as worker:
            for vin, records in messages:
                wire = [{k: v for k, v in r.items() if k != "vin"} for r in records]
                pub.publish(f"{base}/{vin}/telemetry", json.dumps(wire)).wait_for_publish(10)
            assert wait_until(lambda: worker.stats.acked == len(messages), timeout=30)
            assert worker.stats.accepted == sent and worker.stats.rejected == 0
    finally:
        pub.close()
    assert count(engine, telemetry, source="mqtt") == sent
    with engine.connect() as conn:
        rows = conn.execute(
            select(telemetry.c.subject_id, telemetry.c.value, telemetry.c.value_ciphertext).where(
                telemetry.c.signal == "Vehicle.CurrentLocation.Latitude"
            )
        ).all()
    assert rows, "positions were sent"
    owners = {
        v.vin: container.master.subject_for(v.id, datetime.now(UTC)).customer_id
        for v in (container.master.find_vehicle_by_vin(vin) for vin in vins)
        if v
    }
    assert {r.subject_id for r in rows} <= set(owners.values())
    # position and movement is sensitive: no plain value, only ciphertext
    assert all(r.value is None and r.value_ciphertext for r in rows)


def test_malformed_message_is_quarantined_and_redelivery_is_stored_once(
    container: Services, engine: Engine, mqtt_broker: tuple[str, int]
) -> None:
    host, port = mqtt_broker
    base = unique()
    [vin] = register_demo_fleet(container, demo_vins(1, seed=21))
    ts = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    good = json.dumps(
        [
            {"signal": "Vehicle.TraveledDistance", "value": 123456, "ts": ts},
            {"signal": "Vehicle.Speed", "value": 9999.0, "ts": ts},  # out of range: rejected
        ]
    )
    pub = Publisher(host, port)
    try:
        with running_worker(base_config(host, port, base), container.ingest) as worker:
            pub.publish(f"{base}/{vin}/telemetry", b"{not json").wait_for_publish(10)
            # the same message twice (what a redelivery after a crash looks like)
            pub.publish(f"{base}/{vin}/telemetry", good).wait_for_publish(10)
            pub.publish(f"{base}/{vin}/telemetry", good).wait_for_publish(10)
            assert wait_until(lambda: worker.stats.acked == 3, timeout=20)
    finally:
        pub.close()
    assert count(engine, telemetry, signal="Vehicle.TraveledDistance") == 1
    assert count(engine, telemetry, signal="Vehicle.Speed") == 0
    with engine.connect() as conn:
        reasons = [row.reasons for row in conn.execute(select(telemetry_quarantine.c.reasons))]
    # the malformed message (rule json) and the rejected record (rule range, twice: both copies)
    assert any('"json"' in r or "json" in r for r in reasons)
    assert sum("range" in r for r in reasons) == 2
    assert count(engine, telemetry_quarantine, source="mqtt") == 3


def test_a_record_past_its_retention_is_refused_over_mqtt(
    container: Services, engine: Engine, mqtt_broker: tuple[str, int]
) -> None:
    """Telemetry stamped 35 days ago (position data is kept 4 weeks) is refused with the rule
    ``retention.expired`` and quarantined; the fresh record of the same message is stored."""
    host, port = mqtt_broker
    base = unique()
    (vin,) = register_demo_fleet(container, demo_vins(1, seed=11))
    now = datetime.now(UTC)
    wire = [
        {"signal": "Vehicle.Speed", "value": 50.0, "ts": (now - timedelta(days=35)).isoformat()},
        {"signal": "Vehicle.Speed", "value": 51.0, "ts": (now - timedelta(minutes=1)).isoformat()},
    ]
    pub = Publisher(host, port)
    try:
        with running_worker(base_config(host, port, base), container.ingest) as worker:
            pub.publish(f"{base}/{vin}/telemetry", json.dumps(wire)).wait_for_publish(10)
            assert wait_until(lambda: worker.stats.acked == 1, timeout=30)
            assert worker.stats.accepted == 1 and worker.stats.rejected == 1
    finally:
        pub.close()
    assert count(engine, telemetry, source="mqtt") == 1
    (q,) = container.telemetry.quarantine()
    assert q.source == "mqtt" and q.record_index == 0
    assert [r.rule for r in q.reasons] == ["retention.expired"]
