"""Ingest telemetry (issue 3 items 1, 2, 4, 5; SPEC I1-I3, P4): validate, classify, attribute,
encrypt, store. Used by every transport (HTTP, MQTT, workshop).

``IngestService.ingest`` takes a batch of wire records and returns each record's status. Good
records are stored; refused ones go to quarantine with their reasons; both in ONE transaction, so
that when ``ingest`` returns, everything it reports is durable (acknowledged = durable). A
redelivered record (same vehicle, signal, time and source) is stored once.

Per batch, not per record: one vehicle lookup for all VINs, one key lookup for all owners.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, Protocol, runtime_checkable

from carprivacy.domain.errors import InvalidInputError, KeyDestroyedError, Problem
from carprivacy.domain.policy import Policy, RetentionAnchor, Sensitivity
from carprivacy.domain.retention import ExpiryFunction, RetentionPlan, plan_for
from carprivacy.domain.signals import SignalCatalogue, ValidRecord, validate_record
from carprivacy.domain.telemetry import (
    QUARANTINE_OWNER_UNKNOWN,
    QuarantineRow,
    Source,
    TelemetryRow,
    aad_for,
    collection_purposes,
    encode_value,
    quarantine_aad,
)
from carprivacy.domain.vehicle_usage import VehicleUsage, subject_for, vehicle_owner
from carprivacy.services.crypto import FieldCipher

QUARANTINE_RETENTION = timedelta(weeks=4)


@dataclass(frozen=True)
class VehicleInfo:
    """What ingestion needs of a vehicle: its id, end of life and usage periods."""

    id: str
    vin: str
    end_of_life: date | None
    usages: tuple[VehicleUsage, ...]


class VehicleDirectory(Protocol):
    def by_vins(self, vins: Collection[str]) -> dict[str, VehicleInfo]:
        """The known vehicles among ``vins`` (one lookup per batch)."""
        ...


class TelemetryRepository(Protocol):
    def store(self, rows: Sequence[TelemetryRow], quarantine: Sequence[QuarantineRow]) -> int:
        """Insert ``rows`` (skipping ones whose natural key is stored) and ``quarantine`` in one
        transaction; return how many telemetry rows were new."""
        ...


@runtime_checkable
class KeyPreparer(Protocol):
    def prepare(self, owners: Collection[str]) -> set[str]:
        """Load or create the owners' keys at once; return the owners whose key is destroyed."""
        ...


@dataclass(frozen=True)
class RecordStatus:
    index: int
    status: Literal["accepted", "rejected"]
    errors: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    rejected: int
    statuses: list[RecordStatus]
    duplicates: int = 0  # accepted records that were already stored (redelivery)


@dataclass(frozen=True)
class _CategoryPlan:
    sensitive: bool
    purposes: tuple[str, ...]
    retention: RetentionPlan


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


class IngestService:
    def __init__(
        self,
        policy: Policy,
        catalogue: SignalCatalogue,
        telemetry: TelemetryRepository,
        vehicles: VehicleDirectory,
        cipher: FieldCipher,
        *,
        max_future_skew: timedelta = timedelta(minutes=5),
        quarantine_retention: timedelta = QUARANTINE_RETENTION,
    ) -> None:
        catalogue.check_categories(policy.categories_by_id)  # PolicyError at start-up
        self.policy = policy
        self.catalogue = catalogue
        self._telemetry = telemetry
        self._vehicles = vehicles
        self._cipher = cipher
        self._max_future_skew = max_future_skew
        self._quarantine_retention = quarantine_retention
        self._plans: dict[str, _CategoryPlan] = {}
        for category_id in catalogue.categories:
            category = policy.category(category_id)
            purposes = collection_purposes(policy, category_id)
            self._plans[category_id] = _CategoryPlan(
                category.sensitivity is Sensitivity.SENSITIVE,
                purposes,
                plan_for(policy, category_id, purposes),
            )

    def ingest(
        self,
        records: Sequence[Mapping[str, Any]],
        *,
        source: str,
        vehicle_vin: str | None,
        received_at: datetime,
    ) -> IngestResult:
        src = self._source(source)
        received_at = _utc(received_at)
        problems: dict[int, list[Problem]] = {}
        valid: list[ValidRecord] = []
        for index, record in enumerate(records):
            ok, found = validate_record(
                self.catalogue,
                record,
                index,
                transport_vin=vehicle_vin,
                now=received_at,
                max_future_skew=self._max_future_skew,
            )
            if ok is None:
                problems[index] = found
            else:
                valid.append(ok)

        vins = {v.vin for v in valid}
        if vehicle_vin is not None:
            vins.add(vehicle_vin)
        vehicles = self._vehicles.by_vins(vins) if vins else {}

        # attribute each record to its data subject at its own time (owner changes mid-batch);
        # the attribution only changes at period boundaries: computed once per interval
        boundaries = {
            vin: sorted({t for u in v.usages for t in (u.start, u.end) if t is not None})
            for vin, v in vehicles.items()
        }
        attributions: dict[tuple[str, int], tuple[str | None, str | None, str] | None] = {}
        attributed: list[tuple[ValidRecord, VehicleInfo, str | None, str | None, str]] = []
        for rec in valid:
            vehicle = vehicles.get(rec.vin)
            if vehicle is None:
                problems[rec.position] = [
                    Problem(
                        f"records[{rec.position}].vin", "known_vehicle", "no vehicle has this VIN"
                    )
                ]
                continue
            interval = (rec.vin, bisect_right(boundaries[rec.vin], rec.ts))
            if interval in attributions:
                who = attributions[interval]
            else:
                at = subject_for(vehicle.id, vehicle.usages, rec.ts)
                who = attributions[interval] = (
                    None if at.basis is None else (at.customer_id, at.fleet_id, at.owner)
                )
            if who is None:
                problems[rec.position] = [
                    Problem(
                        f"records[{rec.position}].vin",
                        "linked_vehicle",
                        "the vehicle has no owner, driver or fleet then",
                    )
                ]
                continue
            attributed.append((rec, vehicle, *who))

        destroyed: set[str] = set()
        if isinstance(self._cipher, KeyPreparer):
            owners = {a[4] for a in attributed if self._plans[a[0].signal.category].sensitive}
            destroyed = self._cipher.prepare(owners) if owners else set()

        rows: list[TelemetryRow] = []
        expiries: dict[tuple[str, date | None], ExpiryFunction] = {}
        for rec, vehicle, subject_id, fleet_id, owner in attributed:
            plan = self._plans[rec.signal.category]
            if plan.sensitive and owner in destroyed:
                problems[rec.position] = [
                    Problem(
                        f"records[{rec.position}]",
                        "erased_subject",
                        "the data subject's key was destroyed (erasure); nothing is stored",
                    )
                ]
                continue
            ts = rec.ts  # UTC already
            expiry_key = (rec.signal.category, vehicle.end_of_life)
            expiry = expiries.get(expiry_key)
            if expiry is None:
                events: dict[RetentionAnchor, datetime | None] = {}
                if vehicle.end_of_life is not None:
                    events[RetentionAnchor.VEHICLE_END_OF_LIFE] = datetime.combine(
                        vehicle.end_of_life, time(), UTC
                    )
                expiry = expiries[expiry_key] = plan.retention.for_events(events)
            text = encode_value(rec.value)
            ciphertext = None
            if plan.sensitive:
                aad = aad_for(vehicle.id, rec.signal.name, ts, src)
                ciphertext = self._cipher.encrypt(owner, text.encode(), aad)
            rows.append(
                TelemetryRow(
                    vehicle_id=vehicle.id,
                    subject_id=subject_id,
                    fleet_id=fleet_id,
                    key_owner=owner,
                    signal=rec.signal.name,
                    category=rec.signal.category,
                    unit=rec.signal.unit,
                    value=None if plan.sensitive else text,
                    value_ciphertext=ciphertext,
                    ts=ts,
                    received_at=received_at,
                    source=src,
                    purposes=plan.purposes,
                    expires_at=expiry(ts),
                )
            )

        quarantine = [
            self._quarantine_row(
                records[index], index, errs, src, vehicle_vin, vehicles, received_at
            )
            for index, errs in sorted(problems.items())
        ]
        stored = self._telemetry.store(rows, quarantine)
        statuses = [
            RecordStatus(i, "rejected", problems[i])
            if i in problems
            else RecordStatus(i, "accepted")
            for i in range(len(records))
        ]
        return IngestResult(len(rows), len(problems), statuses, duplicates=len(rows) - stored)

    def quarantine_message(
        self,
        raw: bytes,
        problem: Problem,
        *,
        source: str,
        vehicle_vin: str | None,
        received_at: datetime,
    ) -> None:
        """Keep a whole unparseable message aside with its reason (committed on return)."""
        src = self._source(source)
        received_at = _utc(received_at)
        vehicles = self._vehicles.by_vins([vehicle_vin]) if vehicle_vin else {}
        vehicle = vehicles.get(vehicle_vin) if vehicle_vin else None
        row = self._sealed(raw, None, (problem,), src, vehicle, received_at)
        self._telemetry.store([], [row])

    # --- internals -------------------------------------------------------------------------
    @staticmethod
    def _source(source: str) -> str:
        try:
            return Source(source).value
        except ValueError:
            raise InvalidInputError(
                [Problem("source", "enum", "must be http, mqtt or workshop")]
            ) from None

    def _quarantine_row(
        self,
        record: object,
        index: int,
        errors: list[Problem],
        source: str,
        vehicle_vin: str | None,
        vehicles: Mapping[str, VehicleInfo],
        received_at: datetime,
    ) -> QuarantineRow:
        vin = record.get("vin") if isinstance(record, Mapping) else None
        vehicle = vehicles.get(vin if isinstance(vin, str) else vehicle_vin or "")
        payload = json.dumps(record, default=str, separators=(",", ":")).encode()
        return self._sealed(payload, index, tuple(errors), source, vehicle, received_at)

    def _sealed(
        self,
        payload: bytes,
        index: int | None,
        reasons: tuple[Problem, ...],
        source: str,
        vehicle: VehicleInfo | None,
        received_at: datetime,
    ) -> QuarantineRow:
        owner = vehicle_owner(vehicle.id) if vehicle else QUARANTINE_OWNER_UNKNOWN
        aad = quarantine_aad(source, received_at, index)
        try:
            sealed = self._cipher.encrypt(owner, payload, aad)
        except KeyDestroyedError:
            owner = QUARANTINE_OWNER_UNKNOWN
            sealed = self._cipher.encrypt(owner, payload, aad)
        return QuarantineRow(
            source=source,
            vehicle_id=vehicle.id if vehicle else None,
            record_index=index,
            reasons=reasons,
            key_owner=owner,
            payload_ciphertext=sealed,
            received_at=received_at,
            expires_at=received_at + self._quarantine_retention,
        )
