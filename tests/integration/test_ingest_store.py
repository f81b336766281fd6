"""Ingestion on the real stores, SQLite and PostgreSQL (SPEC I1-I3)."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, select, text

from carprivacy.adapters.crypto.envelope import rewrap_all
from carprivacy.adapters.crypto.master_key import MasterKeyRing, key_id, new_master_key
from carprivacy.adapters.db.repositories.data_keys import SqlDataKeyRepository
from carprivacy.adapters.db.tables.telemetry import data_keys, telemetry
from carprivacy.bootstrap import Services, bootstrap
from carprivacy.config import load_settings
from carprivacy.domain.errors import KeyDestroyedError
from carprivacy.domain.master import ContactDetails, UsageKind
from carprivacy.domain.telemetry import aad_for, decode_value

VIN = "WMWXX000000000001"
T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
NOW = T0 + timedelta(minutes=1)


def make_container(engine: Engine, tmp_path: Path, key: bytes | None = None) -> Services:
    settings = load_settings(
        data_dir=tmp_path,
        master_key=SecretStr(base64.b64encode(key or new_master_key()).decode()),
    )
    return bootstrap(settings, engine=engine)


def contact(name: str) -> ContactDetails:
    return ContactDetails(name, "A", "Kerkstraat", "1", "2281 AA", "Rijswijk", "NL")


@pytest.fixture
def container(engine: Engine, tmp_path: Path) -> Services:
    c = make_container(engine, tmp_path)
    alice = c.master.register_customer(contact("Jansen"))
    bob = c.master.register_customer(contact("de Vries"))
    vehicle = c.master.register_vehicle(
        VIN, "MINI Cooper SE", "british racing green", end_of_life=date(2041, 1, 1)
    )
    c.master.add_usage(vehicle.id, UsageKind.OWNER, T0 - timedelta(days=30), customer_id=alice.id)
    c.master.add_usage(vehicle.id, UsageKind.OWNER, T0 + timedelta(seconds=30), customer_id=bob.id)
    _IDS[id(c)] = {"alice": alice.id, "bob": bob.id, "vehicle": vehicle.id}
    return c


_IDS: dict[int, dict[str, str]] = {}


def ids_of(services: Services) -> dict[str, str]:
    """The ids the ``container`` fixture registered: customers alice and bob, their vehicle."""
    return _IDS[id(services)]


def batch(start: datetime, n: int) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for i in range(n):
        ts = (start + timedelta(seconds=i)).isoformat()
        out.append(
            {"signal": "Vehicle.CurrentLocation.Latitude", "value": 52.0 + i / 1000, "ts": ts}
        )
        out.append({"signal": "Vehicle.TraveledDistance", "value": 1000 + i, "ts": ts})
    return out


def test_ingest_stores_attributes_encrypts_and_dedupes(container: Services, engine: Engine):
    ids = ids_of(container)
    records = batch(T0, 60) + [{"signal": "Vehicle.Speed", "value": "x", "ts": T0.isoformat()}]
    result = container.ingest.ingest(records, source="http", vehicle_vin=VIN, received_at=NOW)
    assert (result.accepted, result.rejected, result.duplicates) == (120, 1, 0)
    again = container.ingest.ingest(records, source="http", vehicle_vin=VIN, received_at=NOW)
    assert (again.accepted, again.duplicates, again.rejected) == (0, 120, 1)
    assert [s.status for s in again.statuses] == ["duplicate"] * 120 + ["rejected"]
    assert container.telemetry.count() == 120
    rows = container.telemetry.rows_for_vehicle(ids["vehicle"])
    owners = {r.subject_id for r in rows}
    assert owners == {ids["alice"], ids["bob"]}
    assert all(r.subject_id == ids["bob"] for r in rows if r.ts >= T0 + timedelta(seconds=30))
    lat = next(r for r in rows if r.signal.endswith("Latitude"))
    assert lat.value is None and lat.value_ciphertext is not None
    aad = aad_for(lat.vehicle_id, lat.signal, lat.ts, lat.source)
    assert decode_value(container.cipher.decrypt(lat.key_owner, lat.value_ciphertext, aad)) == 52.0
    # nothing of the position is in the database in clear
    with engine.connect() as conn:
        clear = (
            conn.execute(
                select(telemetry.c.value).where(telemetry.c.category == "position_movement")
            )
            .scalars()
            .all()
        )
    assert set(clear) == {None}
    q = container.telemetry.quarantine()[0]  # once per delivery
    assert q.record_index == 120 and q.reasons[0].rule == "type"


def test_destroying_a_subject_key_makes_its_data_unreadable(container: Services, engine, tmp_path):
    ids = ids_of(container)
    container.ingest.ingest(batch(T0, 5), source="mqtt", vehicle_vin=VIN, received_at=NOW)
    row = next(
        r
        for r in container.telemetry.rows_for_vehicle(ids["vehicle"])
        if r.value_ciphertext is not None
    )
    aad = aad_for(row.vehicle_id, row.signal, row.ts, row.source)
    container.cipher.destroy_key(row.key_owner)
    with pytest.raises(KeyDestroyedError):
        container.cipher.decrypt(row.key_owner, row.value_ciphertext, aad)
    # also for a fresh process (no cache), and the wrapped key is gone from the table
    fresh = make_container(engine, tmp_path / "other")
    with pytest.raises(KeyDestroyedError):
        fresh.cipher.decrypt(row.key_owner, row.value_ciphertext, aad)
    with engine.connect() as conn:
        wrapped = conn.execute(
            select(data_keys.c.wrapped_key).where(data_keys.c.owner == row.key_owner)
        ).scalar_one()
    assert wrapped is None


def test_keys_survive_a_restart_and_need_the_master_key(container: Services, engine, tmp_path):
    ids = ids_of(container)
    master = base64.b64decode(container.settings.master_key.get_secret_value())
    container.ingest.ingest(batch(T0, 3), source="mqtt", vehicle_vin=VIN, received_at=NOW)
    row = next(
        r
        for r in container.telemetry.rows_for_vehicle(ids["vehicle"])
        if r.value_ciphertext is not None
    )
    aad = aad_for(row.vehicle_id, row.signal, row.ts, row.source)
    same = make_container(engine, tmp_path / "same", master)
    assert decode_value(same.cipher.decrypt(row.key_owner, row.value_ciphertext, aad)) == 52.0
    wrong = make_container(engine, tmp_path / "wrong")
    with pytest.raises(ValueError):
        wrong.cipher.decrypt(row.key_owner, row.value_ciphertext, aad)


def test_rotating_the_master_key_rewraps_every_data_key(container: Services, engine, tmp_path):
    ids = ids_of(container)
    old = base64.b64decode(container.settings.master_key.get_secret_value())
    container.ingest.ingest(batch(T0, 40), source="mqtt", vehicle_vin=VIN, received_at=NOW)
    new = new_master_key()
    count = rewrap_all(SqlDataKeyRepository(engine), MasterKeyRing(old), new, key_id(new))
    assert count == 2  # alice and bob
    with engine.connect() as conn:
        kids = set(conn.execute(select(data_keys.c.master_key_id)).scalars())
    assert kids == {key_id(new)}
    rotated = make_container(engine, tmp_path / "rotated", new)
    for row in container.telemetry.rows_for_vehicle(ids["vehicle"]):
        if row.value_ciphertext is not None:
            aad = aad_for(row.vehicle_id, row.signal, row.ts, row.source)
            rotated.cipher.decrypt(row.key_owner, row.value_ciphertext, aad)


def test_whole_message_quarantine_is_committed(container: Services, engine: Engine):
    from carprivacy.domain.errors import Problem

    container.ingest.quarantine_message(
        b"\xff\xfe garbage",
        Problem("message", "json", "not JSON"),
        source="mqtt",
        vehicle_vin=None,
        received_at=NOW,
    )
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM telemetry_quarantine")).scalar_one() == 1


def test_row_fields_are_the_table_columns_in_order():
    from carprivacy.adapters.db.repositories.telemetry import COLUMNS
    from carprivacy.domain.telemetry import TelemetryRow

    assert TelemetryRow._fields == COLUMNS
    assert tuple(c.name for c in telemetry.columns)[1:] == COLUMNS


def test_a_batch_with_a_duplicate_inside_is_stored_once(container: Services):
    ts = T0.isoformat()
    one = {"signal": "Vehicle.Speed", "value": 10.0, "ts": ts}
    result = container.ingest.ingest(
        [one, dict(one)], source="mqtt", vehicle_vin=VIN, received_at=NOW
    )
    assert (result.accepted, result.duplicates) == (1, 1)
    assert [s.status for s in result.statuses] == ["accepted", "duplicate"]
    assert container.telemetry.count() == 1
    # a later batch that repeats one stored record and adds a new one
    new = {"signal": "Vehicle.Speed", "value": 11.0, "ts": (T0 + timedelta(seconds=1)).isoformat()}
    again = container.ingest.ingest([one, new], source="mqtt", vehicle_vin=VIN, received_at=NOW)
    assert (again.accepted, again.duplicates) == (1, 1)
    assert [s.status for s in again.statuses] == ["duplicate", "accepted"]
    assert container.telemetry.count() == 2
