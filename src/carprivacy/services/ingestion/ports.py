"""The ports of the ingestion room (SPEC I1-I3, C3): where telemetry and vehicle credentials are
kept, how vehicles are looked up, how a batch is sealed, what decides a workshop upload and the
consents that stop a gated category being collected."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from carprivacy.domain.access import Decision, DecisionRequest, Reason
from carprivacy.domain.subject_state import ConsentRecord
from carprivacy.domain.telemetry import QuarantineRow, StoredValue, TelemetryRow
from carprivacy.services.ingestion.quarantine import VehicleInfo


class VehicleDirectory(Protocol):
    def by_vins(self, vins: Collection[str]) -> dict[str, VehicleInfo]:
        """The known vehicles among ``vins`` (one lookup per batch)."""
        ...


OnDuplicates = Callable[[Mapping[int, StoredValue]], Sequence[QuarantineRow]]


class TelemetryRepository(Protocol):
    def store(
        self,
        rows: Sequence[TelemetryRow],
        quarantine: Sequence[QuarantineRow],
        on_duplicates: OnDuplicates | None = None,
    ) -> Sequence[int]:
        """Insert ``rows`` (skipping ones whose natural key is stored) and ``quarantine`` in one
        transaction; return the positions in ``rows`` of those already stored (empty when all
        were new). When there are such rows, ``on_duplicates`` gets the value stored under each
        one's key (position -> value; a repeat within ``rows`` gets its first) inside the
        transaction, and the quarantine rows it returns are inserted in that transaction too."""
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


class ConsentLookup(Protocol):
    def consents_of(self, subject_ids: Collection[str]) -> dict[str, list[ConsentRecord]]:
        """Every consent and refusal record of each subject (one lookup for a batch)."""
        ...


class Decider(Protocol):
    def screen(self, request: DecisionRequest) -> Decision | None: ...

    def decide_many(self, requests: Sequence[DecisionRequest]) -> list[Decision]: ...

    def decide_list(
        self, requests: Sequence[DecisionRequest], remainder: tuple[DecisionRequest, Reason] | None
    ) -> list[Decision]: ...


class Vehicles(Protocol):
    def by_vins(self, vins: Collection[str]) -> dict[str, VehicleInfo]: ...


class VehicleCredentialRepository(Protocol):
    def add(self, credential_id: str, vehicle_id: str, token_sha256: str, at: datetime) -> None: ...

    def vin_for(self, token_sha256: str) -> str | None: ...

    def revoke_all(self, vehicle_id: str, at: datetime) -> int: ...
