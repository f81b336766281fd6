"""Ports of ingestion (SPEC I1-I3, C3): what the pipeline and the workshop collector need from
the world, as protocols; the SQL adapters are in ``adapters/db/repositories``, the in-memory
fakes in ``carprivacy.testing``.

The telemetry store only stores: it never calls back into the service. ``store`` writes a batch
all or nothing; when a natural key it was to insert is already taken it writes nothing and says
which keys those were and what is stored under them, the service decides (redelivery or
conflict) and calls ``store`` again with those keys set aside and the quarantine rows it decided.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from carprivacy.domain.access import Decision, DecisionRequest, Reason
from carprivacy.domain.subject_state import ConsentRecord
from carprivacy.domain.telemetry import QuarantineRow, StoredValue, TelemetryRow
from carprivacy.services.ingestion.attribute import VehicleInfo

__all__ = [
    "BatchCipher",
    "ConsentLookup",
    "Decider",
    "KeyPreparer",
    "StoreOutcome",
    "TelemetryRepository",
    "VehicleCredentialRepository",
    "VehicleDirectory",
    "VehicleInfo",
]


class VehicleDirectory(Protocol):
    def by_vins(self, vins: Collection[str]) -> dict[str, VehicleInfo]:
        """The known vehicles among ``vins`` (one lookup per batch)."""
        ...


@dataclass(frozen=True)
class StoreOutcome:
    """What one ``store`` call did. ``committed``: everything given is durable. Otherwise
    nothing was written, and ``taken`` holds, per position in ``rows`` (outside the positions
    the caller set aside), the value stored under that row's natural key; a repeat within
    ``rows`` gets the value of its first occurrence."""

    committed: bool
    taken: Mapping[int, StoredValue] = field(default_factory=dict)


class TelemetryRepository(Protocol):
    def store(
        self,
        rows: Sequence[TelemetryRow],
        quarantine: Sequence[QuarantineRow],
        taken: Collection[int] = (),
    ) -> StoreOutcome:
        """In ONE transaction: insert ``rows`` but those at the positions ``taken`` (keys the
        caller already knows are stored) and ``quarantine``, and commit, when every row inserted
        is new. When some row's key is already stored, or repeats an earlier row's, roll back
        and return those positions with the values under their keys (``committed`` False)."""
        ...


class ConsentLookup(Protocol):
    def consents_of(self, subject_ids: Collection[str]) -> dict[str, list[ConsentRecord]]:
        """Every consent and refusal record of each subject (one lookup for a batch)."""
        ...


@runtime_checkable
class KeyPreparer(Protocol):
    def prepare(self, owners: Collection[str]) -> set[str]:
        """Load or create the owners' keys at once; return the owners whose key is destroyed."""
        ...


@runtime_checkable
class BatchCipher(Protocol):
    def encrypt_many(self, owner: str, items: Sequence[tuple[bytes, bytes]]) -> list[bytes]:
        """``encrypt`` of many (plaintext, associated data) pairs of one owner."""
        ...


class Decider(Protocol):
    """The decision engine, as the workshop collector uses it."""

    def screen(self, request: DecisionRequest) -> Decision | None: ...

    def decide_many(self, requests: Sequence[DecisionRequest]) -> list[Decision]: ...

    def decide_list(
        self, requests: Sequence[DecisionRequest], remainder: tuple[DecisionRequest, Reason] | None
    ) -> list[Decision]: ...


class VehicleCredentialRepository(Protocol):
    def add(self, credential_id: str, vehicle_id: str, token_sha256: str, at: datetime) -> None: ...

    def vin_for(self, token_sha256: str) -> str | None: ...

    def vins_for(self, token_sha256s: Collection[str]) -> dict[str, str]:
        """Token hash -> VIN of each hash that is a live (not revoked) credential."""
        ...

    def revoke_all(self, vehicle_id: str, at: datetime) -> int: ...
