"""MQTT quarantine numbers a refused record within ITS message, not within the worker's batch
(SPEC I1): a one-record message from an unknown vehicle that
shares a batch with other messages is quarantined as ``records[0].vin``, record_index 0.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from mqtt_support import Publisher, base_config, running_worker, unique, wait_until
from sqlalchemy import Engine, select

from carprivacy.adapters.db.tables.telemetry import telemetry_quarantine
from carprivacy.bootstrap import Services, bootstrap
from carprivacy.config import load_settings
from carprivacy.entrypoints.cli.commands.simulate import register_demo_fleet
from carprivacy.services.demo.simulation import demo_vins

pytestmark = pytest.mark.mqtt

UNKNOWN_VIN = "WMWUNKNWN00000001"  # well-formed (no I, O, Q), not registered


@pytest.fixture
def container(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[Services]:
    yield bootstrap(load_settings(data_dir=tmp_path, database_url=db_url), engine=engine)


def test_quarantined_record_is_numbered_within_its_message(
    container: Services, engine: Engine, mqtt_broker: tuple[str, int]
) -> None:
    host, port = mqtt_broker
    base = unique()
    [vin] = register_demo_fleet(container, demo_vins(1, seed=33))
    ts = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    three = [{"signal": "Vehicle.TraveledDistance", "value": 1000 + i, "ts": ts} for i in range(3)]
    three[0]["ts"] = (datetime.now(UTC) - timedelta(minutes=2)).isoformat()
    three[1]["ts"] = (datetime.now(UTC) - timedelta(minutes=3)).isoformat()
    one = [{"signal": "Vehicle.Speed", "value": 50.0, "ts": ts}]
    pub = Publisher(host, port)
    # a long batch window: both messages land in ONE ingest call (one transaction)
    config = base_config(host, port, base, batch_ms=1500)
    try:
        with running_worker(config, container.ingest) as worker:
            pub.publish(f"{base}/{vin}/telemetry", json.dumps(three)).wait_for_publish(10)
            pub.publish(f"{base}/{UNKNOWN_VIN}/telemetry", json.dumps(one)).wait_for_publish(10)
            assert wait_until(lambda: worker.stats.acked == 2, timeout=20)
            assert worker.stats.batches == 1, "the test needs both messages in one batch"
            assert (worker.stats.accepted, worker.stats.rejected) == (3, 1)
    finally:
        pub.close()
    with engine.connect() as conn:
        rows = conn.execute(
            select(telemetry_quarantine.c.record_index, telemetry_quarantine.c.reasons)
        ).all()
    assert len(rows) == 1
    [(record_index, reasons)] = rows
    assert record_index == 0
    assert json.loads(reasons)[0]["field"] == "records[0].vin"
