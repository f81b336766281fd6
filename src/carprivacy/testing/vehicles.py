"""In-memory fakes that read the in-memory master data: the vehicle directory ingestion
attributes records with, and the per-vehicle credentials of HTTP ingestion. Same answers as the
SQL ones (which join the master-data tables), no I/O."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from carprivacy.domain.errors import ConflictError
from carprivacy.services.ingestion.pipeline import VehicleInfo
from carprivacy.testing.master import InMemoryMasterData


class InMemoryMasterDataVehicleDirectory:
    """Vehicles and their usage periods, as the master data holds them now."""

    def __init__(self, store: InMemoryMasterData) -> None:
        self._store = store

    def by_vins(self, vins: Collection[str]) -> dict[str, VehicleInfo]:
        wanted = {v for v in vins if isinstance(v, str)}
        found: dict[str, VehicleInfo] = {}
        for vehicle in list(self._store.vehicles.values()):
            if vehicle.vin in wanted:
                usages = sorted(
                    (u for u in self._store.usages.values() if u.vehicle_id == vehicle.id),
                    key=lambda u: (u.start, u.id),
                )
                found[vehicle.vin] = VehicleInfo(
                    vehicle.id, vehicle.vin, vehicle.end_of_life, tuple(usages)
                )
        return found


@dataclass
class _Credential:
    vehicle_id: str
    token_sha256: str
    created_at: datetime
    revoked_at: datetime | None = None


@dataclass
class InMemoryVehicleCredentialRepository:
    store: InMemoryMasterData
    credentials: dict[str, _Credential] = field(default_factory=dict)

    def add(self, credential_id: str, vehicle_id: str, token_sha256: str, at: datetime) -> None:
        if vehicle_id not in self.store.vehicles:  # the SQL foreign key
            raise ValueError(f"no vehicle {vehicle_id}")
        if credential_id in self.credentials or any(
            c.token_sha256 == token_sha256 for c in self.credentials.values()
        ):
            raise ConflictError("the credential exists")  # the SQL unique keys
        self.credentials[credential_id] = _Credential(vehicle_id, token_sha256, at)

    def vin_for(self, token_sha256: str) -> str | None:
        for c in self.credentials.values():
            if c.token_sha256 == token_sha256 and c.revoked_at is None:
                vehicle = self.store.vehicles.get(c.vehicle_id)
                return None if vehicle is None else vehicle.vin
        return None

    def vins_for(self, token_sha256s: Collection[str]) -> dict[str, str]:
        found = {h: self.vin_for(h) for h in token_sha256s}
        return {h: vin for h, vin in found.items() if vin is not None}

    def revoke_all(self, vehicle_id: str, at: datetime) -> int:
        revoked = 0
        for c in self.credentials.values():
            if c.vehicle_id == vehicle_id and c.revoked_at is None:
                c.revoked_at = at
                revoked += 1
        return revoked
