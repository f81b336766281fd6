"""The composition root: the in-memory bootstrap wires the same services as the SQL one, on fakes,
and a caller can swap any adapter."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from sqlalchemy import create_engine

from carprivacy.bootstrap import SERVICE_NAMES, Services, bootstrap
from carprivacy.config import Settings
from carprivacy.domain.master import ContactDetails
from carprivacy.testing import InMemoryStores, bootstrap_in_memory
from carprivacy.testing.database import InMemoryDatabase


def _types(services: Services) -> dict[str, type]:
    return {f.name: type(getattr(services, f.name)) for f in fields(services)}


def test_in_memory_and_sql_bootstraps_build_the_same_services(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    engine = create_engine(f"sqlite:///{tmp_path / 'never-opened.db'}")  # not connected
    sql = bootstrap(settings, engine=engine)
    memory = bootstrap_in_memory(Settings(data_dir=tmp_path / "memory"))
    assert set(_types(sql)) == set(_types(memory)) == set(SERVICE_NAMES)
    stores = {"cipher", "database", "telemetry"}  # the adapters themselves differ, by design
    for name in set(SERVICE_NAMES) - stores - {"mqtt_worker", "rotate_master_key"}:
        assert _types(sql)[name] is _types(memory)[name], name
    assert not (tmp_path / "never-opened.db").exists()  # building connects to nothing
    assert not (tmp_path / "memory").exists()  # the fakes write no file
    sql.close()


def test_the_in_memory_services_share_their_stores() -> None:
    stores = InMemoryStores()
    services = bootstrap_in_memory(stores=stores)
    contact = ContactDetails("Jansen", "A", "Kerkstraat", "1", "2281 AA", "Rijswijk", "NL")
    customer = services.master.register_customer(contact)
    assert customer.id in stores.master.customers
    vehicle = services.master.register_vehicle("WMWXX000000000001", "MINI Cooper SE", "green")
    issued = services.vehicle_credentials.issue(vehicle.id, vehicle.vin)
    assert services.vehicle_credentials.authenticate(issued.token) == vehicle.vin
    assert services.database.ping() and services.database.has_tables()


def test_any_adapter_can_be_swapped(tmp_path: Path) -> None:
    down = InMemoryDatabase(reachable=False)
    services = bootstrap_in_memory(stores=InMemoryStores(database=down))
    assert services.database is down and not services.database.ping()
