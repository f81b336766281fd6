"""CLI of the ingestion core: ``vehicles credential`` and ``keys rotate-master``,
on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from carprivacy.adapters.crypto.master_key import key_id
from carprivacy.adapters.db.tables.telemetry import data_keys
from carprivacy.bootstrap import Services, bootstrap
from carprivacy.config import load_settings
from carprivacy.domain.errors import AuthenticationError
from carprivacy.domain.master import ContactDetails, UsageKind
from carprivacy.domain.telemetry import aad_for, decode_value
from carprivacy.entrypoints.cli.main import app

VIN = "WMWCL100000000001"


def container_for(db_url: str, engine: Engine, data_dir: Path) -> Services:
    return bootstrap(load_settings(data_dir=data_dir, database_url=db_url), engine=engine)


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> dict[str, str | None]:
    return {
        "CARPRIVACY_DATABASE_URL": db_url,
        "CARPRIVACY_DATA_DIR": str(tmp_path),
        "CARPRIVACY_MASTER_KEY": None,
        "CARPRIVACY_MASTER_KEY_FILE": None,
    }


@pytest.fixture
def fleet(db_url: str, engine: Engine, tmp_path: Path) -> Services:
    c = container_for(db_url, engine, tmp_path)
    customer = c.master.register_customer(
        ContactDetails("Visser", "Eva", "Laan", "3", "2511 AA", "Den Haag", "NL")
    )
    vehicle = c.master.register_vehicle(VIN, "MINI Clubman", "blue")
    c.master.add_usage(
        vehicle.id, UsageKind.OWNER, datetime.now(UTC) - timedelta(days=3), customer_id=customer.id
    )
    return c


def test_vehicle_credential_is_shown_once_and_authenticates(fleet: Services, env):
    result = CliRunner().invoke(app, ["vehicles", "credential", VIN], env=env)
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("cpv_")
    assert fleet.vehicle_credentials.authenticate(token) == VIN
    again = CliRunner().invoke(app, ["vehicles", "credential", VIN, "--revoke-others"], env=env)
    assert again.exit_code == 0
    with pytest.raises(AuthenticationError):
        fleet.vehicle_credentials.authenticate(token)
    unknown = CliRunner().invoke(app, ["vehicles", "credential", "WMWCL199999999999"], env=env)
    assert unknown.exit_code == 1 and "no vehicle" in unknown.output


def test_rotate_master_rewraps_and_the_old_key_is_gone(
    fleet: Services, env, db_url: str, engine: Engine, tmp_path: Path
):
    key_file = tmp_path / "master.key"
    now = datetime.now(UTC)
    records = [
        {"signal": "Vehicle.CurrentLocation.Latitude", "value": 51.9 + i / 100,
         "ts": (now - timedelta(minutes=i)).isoformat()}
        for i in range(1, 6)
    ]  # fmt: skip
    result = fleet.ingest.ingest(records, source="http", vehicle_vin=VIN, received_at=now)
    assert result.accepted == 5
    assert key_file.exists() and key_file.stat().st_mode & 0o777 == 0o600
    old_text = key_file.read_text()

    rotated = CliRunner().invoke(app, ["keys", "rotate-master"], env=env)
    assert rotated.exit_code == 0, rotated.output
    new_text = key_file.read_text()
    assert new_text != old_text and not (tmp_path / "master.key.next").exists()
    assert key_file.stat().st_mode & 0o777 == 0o600
    new_id = key_id(base64.urlsafe_b64decode(new_text.strip()))
    with engine.connect() as conn:
        assert set(conn.execute(select(data_keys.c.master_key_id)).scalars()) == {new_id}

    fresh = container_for(db_url, engine, tmp_path)  # reads the new key file
    vehicle = fresh.master.find_vehicle_by_vin(VIN)
    assert vehicle is not None
    values = sorted(
        decode_value(
            fresh.cipher.decrypt(
                r.key_owner, r.value_ciphertext, aad_for(r.vehicle_id, r.signal, r.ts, r.source)
            )
        )
        for r in fresh.telemetry.rows_for_vehicle(vehicle.id)
        if r.value_ciphertext is not None
    )
    assert values == sorted(r["value"] for r in records)


def test_rotate_master_with_an_environment_key_needs_a_target(fleet: Services, env, tmp_path):
    key = base64.b64encode(b"k" * 32).decode()
    result = CliRunner().invoke(
        app, ["keys", "rotate-master"], env={**env, "CARPRIVACY_MASTER_KEY": key}
    )
    assert result.exit_code == 2 and "--new-key-file" in result.output
