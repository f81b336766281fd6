"""Ingest telemetry (SPEC I1-I3, P4): validate, classify, attribute,
encrypt, store. Used by every transport (HTTP, MQTT, workshop).

``IngestService.ingest`` takes a batch of wire records and returns each record's status. Good
records are stored; refused ones go to quarantine with their reasons; both in ONE transaction, so
that when ``ingest`` returns, everything it reports is durable (acknowledged = durable). A
redelivered record (same vehicle, signal, time, source and value) is stored once and reported as
``duplicate``; a record with the natural key of a stored one but another value is refused
(``conflicting_duplicate``) and quarantined: the stored value stays, the new one is not lost.

Per batch, not per record: one vehicle lookup for all VINs, one key lookup for all owners.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, NamedTuple

from carprivacy.domain.collection_gate import collection_gate
from carprivacy.domain.errors import InvalidInputError, Problem
from carprivacy.domain.policy import Policy, RetentionAnchor, Sensitivity
from carprivacy.domain.retention import ExpiryFunction, RetentionPlan, plan_for
from carprivacy.domain.signals import (
    SignalCatalogue,
    timestamp_until,
    validate_record,
)
from carprivacy.domain.telemetry import (
    Source,
    TelemetryRow,
    collection_purposes,
    encode_value,
)
from carprivacy.services.ingestion.conflicts import ConflictResolver
from carprivacy.services.ingestion.moments import (
    Entry,
    Moment,
    Sealing,
    moments_for,
    sensitive_texts,
)
from carprivacy.services.ingestion.ports import ConsentLookup, TelemetryRepository, VehicleDirectory
from carprivacy.services.ingestion.quarantine import (
    QUARANTINE_RETENTION,
    QuarantineSealer,
    VehicleInfo,
)
from carprivacy.services.ingestion.steps import BatchConsents, seal_pending
from carprivacy.services.ports.crypto import FieldCipher

__all__ = ["IngestResult", "IngestService", "RecordStatus", "VehicleInfo"]


class RecordStatus(NamedTuple):
    """One record's outcome (a named tuple: ingestion makes one per record)."""

    index: int  # type: ignore[assignment]  # (shadows tuple.index: the field name is the API)
    status: Literal["accepted", "rejected", "duplicate"]  # duplicate: already stored
    errors: tuple[Problem, ...] = ()


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    rejected: int
    statuses: list[RecordStatus]
    duplicates: int = 0  # records already stored (redelivery): nothing new, not in ``accepted``


_ABSENT = object()  # a record without a value


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
        consents: ConsentLookup | None = None,
    ) -> None:
        """``consents``: the subjects' consent records, for categories whose every collection
        purpose depends on a consent topic (OBFCM); without it nothing is gated."""
        catalogue.check_categories(policy.categories_by_id)  # PolicyError at start-up
        self.policy = policy
        self.catalogue = catalogue
        self._telemetry = telemetry
        self._vehicles = vehicles
        self._cipher = cipher
        self._max_future_skew = max_future_skew
        self._quarantine = QuarantineSealer(cipher, quarantine_retention)
        self._consents = consents
        self._retention: dict[str, RetentionPlan] = {}
        self._expiry_functions: dict[tuple[str, date | None], ExpiryFunction] = {}
        self._accepted: list[RecordStatus] = []
        sensitive: dict[str, bool] = {}
        purposes: dict[str, tuple[str, ...]] = {}
        for category_id in catalogue.categories:
            category = policy.category(category_id)
            purposes[category_id] = collection_purposes(policy, category_id)
            sensitive[category_id] = category.sensitivity is Sensitivity.SENSITIVE
            self._retention[category_id] = plan_for(policy, category_id, purposes[category_id])
        self._entries: dict[str, Entry] = {
            s.name: Entry(
                s.name,
                s.category,
                s.unit,
                sensitive[s.category],
                purposes[s.category],
                catalogue.encoder(s.name),
                collection_gate(policy, s.category, purposes[s.category])
                if consents is not None
                else None,
            )
            for s in catalogue.signals
        }
        self._gated_signals = frozenset(n for n, e in self._entries.items() if e.gate)

    def ingest(
        self,
        records: Sequence[Mapping[str, Any]],
        *,
        source: str,
        vehicle_vin: str | None,
        received_at: datetime,
        positions: Sequence[int] | None = None,
        refused: Mapping[int, Sequence[Problem]] | None = None,
        vehicles: Mapping[str, VehicleInfo] | None = None,
        keep_refused: bool = True,
    ) -> IngestResult:
        """Validate, attribute, classify, encrypt and store one batch; every record gets a status.

        ``refused``: records the transport already refused (index -> problems), e.g. an NDJSON
        line that is not JSON: they are not checked again, and are answered and quarantined with
        the transport's problems.

        ``vehicles``: the vehicles (by VIN) the caller already looked up and decided on; used
        instead of a lookup of its own, so that what was decided is what is stored.
        ``keep_refused=False``: quarantine keeps only the reasons of refused records, no payload
        (a workshop upload: its records were decided per subject, a malformed one was not).

        ``positions``: each record's index as its sender numbered it, used in problem paths and
        quarantine rows (an MQTT batch joins several messages: a record is numbered within its
        own message). Default: its index in ``records``.

        Per record, the common case costs a few dictionary lookups: the signal's compiled value
        check gives the stored text, and whatever depends only on the vehicle and the time
        (parsed timestamp, attribution, expiry, associated data) is computed once per (VIN,
        timestamp) of the batch. A record off that path gets the full check, which names every
        problem (:func:`validate_record`)."""
        src = self._source(source)
        received_at = _utc(received_at)
        latest = received_at + self._max_future_skew
        if vehicle_vin is not None:
            vins = {vehicle_vin}  # records naming another vehicle are refused
        else:
            vins = {
                vin
                for r in records
                if (type(r) is dict or isinstance(r, Mapping)) and type(vin := r.get("vin")) is str
            }
        if vehicles is None:
            vehicles = self._vehicles.by_vins(vins) if vins else {}
        else:
            vehicles = {vin: vehicles[vin] for vin in vins if vin in vehicles}
        moment_at, sealing = moments_for(vehicles, src)
        moments: dict[tuple[str, object], Moment | None] = {}
        entries = self._entries
        problems: dict[int, list[Problem]] = {}  # refused and quarantined
        blocked: dict[int, tuple[Problem, ...]] = {}  # refused by the subject's choice: not kept
        consents = BatchConsents(self._consents, self._gated_signals, records, vehicles)
        rows: list[TelemetryRow | None] = []
        entry: Entry
        text: str

        for index, record in enumerate(records):
            if refused and index in refused:
                problems[index] = list(refused[index])
                continue
            m: Moment | None = None
            if type(record) is dict:
                size = len(record)
                vin = record.get("vin") if size == 4 else vehicle_vin if size == 3 else None
                raw_ts = record.get("ts")
                name = record.get("signal")
                fast_entry = entries.get(name) if type(name) is str else None
                # 3 fields: signal, value, ts; 4: and a vin (the only other field known)
                if (
                    fast_entry is not None
                    and type(vin) is str
                    and type(raw_ts) is str
                    and (vehicle_vin is None or vin == vehicle_vin)
                ):
                    fast_text = fast_entry.encode(record.get("value", _ABSENT))
                    if fast_text is not None:
                        entry, text = fast_entry, fast_text
                        key: tuple[str, object] = (vin, raw_ts)
                        try:
                            m = moments[key]
                        except KeyError:
                            ts = timestamp_until(raw_ts, latest)
                            m = moments[key] = None if ts is None else moment_at(vin, ts)
            if m is None:  # off the common path: the full check names every problem
                ok, found = validate_record(
                    self.catalogue,
                    record,
                    index if positions is None else positions[index],
                    transport_vin=vehicle_vin,
                    now=received_at,
                    max_future_skew=self._max_future_skew,
                )
                if ok is None:
                    problems[index] = found
                    continue
                entry = entries[ok.signal.name]
                text = encode_value(ok.value)
                key = (ok.vin, ok.ts)
                m = moments.get(key)
                if m is None:
                    m = moments[key] = moment_at(ok.vin, ok.ts)
            if m.fault is not None:
                rule, message = m.fault
                at = index if positions is None else positions[index]
                problems[index] = [Problem(f"records[{at}].vin", rule, message)]
                continue
            if entry.gate is not None and m.subject_id is not None:
                refusal = consents.refusal(entry.gate, m, received_at)
                if refusal is not None:  # the subject said no: answered, kept nowhere
                    at = index if positions is None else positions[index]
                    blocked[index] = (Problem(f"records[{at}]", refusal.rule, refusal.message),)
                    continue
            category = entry.category
            try:
                expires_at = m.expiries[category]
            except KeyError:
                expires_at = m.expiries[category] = self._expiry(category, m.end_of_life, m.ts)
            if entry.sensitive:
                m.sealing.append(Sealing(len(rows), index, entry, text, m))
                rows.append(None)  # filled in once the owner's key is loaded
                continue
            rows.append(
                TelemetryRow(
                    m.vehicle_id,
                    m.subject_id,
                    m.fleet_id,
                    m.owner,
                    entry.name,
                    category,
                    entry.unit,
                    text,
                    None,
                    m.ts,
                    received_at,
                    src,
                    entry.purposes,
                    expires_at,
                )
            )

        stored_rows: list[TelemetryRow] = rows  # type: ignore[assignment]
        kept: list[int] | None = None  # positions in ``rows`` of ``stored_rows`` if some dropped
        if seal_pending(self._cipher, sealing, rows, problems, received_at, src, positions):
            kept = [p for p, r in enumerate(rows) if r is not None]
            stored_rows = [rows[p] for p in kept]  # type: ignore[misc]

        def sender(index: int) -> int:
            return index if positions is None else positions[index]

        quarantine = [
            self._quarantine.record(
                records[index],
                sender(index),
                tuple(errs),
                src,
                self._vehicle_of(records[index], vehicle_vin, vehicles),
                received_at,
                withhold=not keep_refused,
            )
            for index, errs in sorted(problems.items())
        ]
        good: list[int] = []  # index in ``records`` of each of ``stored_rows`` (when needed)

        def record_of(position: int) -> int:
            if not good:
                good.extend(
                    i for i in range(len(records)) if i not in problems and i not in blocked
                )
            return good[position]

        resolver = ConflictResolver(
            self._cipher,
            self._quarantine,
            records,
            stored_rows,
            lambda: sensitive_texts(sealing, kept),
            record_of,
            sender,
        )
        duplicates = self._telemetry.store(stored_rows, quarantine, resolver)
        refused = resolver.refused  # conflicting duplicates
        accepted = self._accepted_statuses(len(records))  # immutable: shared between results
        if problems or duplicates or blocked:
            again = {record_of(p) for p in duplicates} - refused.keys()
            statuses = [
                RecordStatus(i, "rejected", tuple(problems[i]))
                if i in problems
                else RecordStatus(i, "rejected", blocked[i])
                if i in blocked
                else RecordStatus(i, "rejected", tuple(refused[i]))
                if i in refused
                else RecordStatus(i, "duplicate")
                if i in again
                else accepted[i]
                for i in range(len(records))
            ]
        else:
            statuses = accepted[: len(records)]
        return IngestResult(
            len(stored_rows) - len(duplicates),
            len(problems) + len(blocked) + len(refused),
            statuses,
            duplicates=len(duplicates) - len(refused),
        )

    def _accepted_statuses(self, n: int) -> list[RecordStatus]:
        if len(self._accepted) < n:
            self._accepted = [RecordStatus(i, "accepted") for i in range(max(n, 1024))]
        return self._accepted

    def _expiry(self, category: str, end_of_life: date | None, ts: datetime) -> datetime | None:
        key = (category, end_of_life)
        expiry = self._expiry_functions.get(key)
        if expiry is None:
            events: dict[RetentionAnchor, datetime | None] = {}
            if end_of_life is not None:
                events[RetentionAnchor.VEHICLE_END_OF_LIFE] = datetime.combine(
                    end_of_life, time(), UTC
                )
            expiry = self._retention[category].for_events(events)
            if len(self._expiry_functions) < 10_000:
                self._expiry_functions[key] = expiry
        return expiry(ts)

    def quarantine_message(
        self,
        raw: bytes,
        problem: Problem,
        *,
        source: str,
        vehicle_vin: str | None,
        received_at: datetime,
    ) -> None:
        """Keep a whole unparseable message aside with its reason (committed on return), sealed
        for the vehicle's user at receipt."""
        src = self._source(source)
        received_at = _utc(received_at)
        vehicles = self._vehicles.by_vins([vehicle_vin]) if vehicle_vin else {}
        vehicle = vehicles.get(vehicle_vin) if vehicle_vin else None
        owner = self._quarantine.owner_of(vehicle, received_at)
        vehicle_id = vehicle.id if vehicle else None
        row = self._quarantine.sealed(raw, None, (problem,), src, vehicle_id, owner, received_at)
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

    @staticmethod
    def _vehicle_of(
        record: object, vehicle_vin: str | None, vehicles: Mapping[str, VehicleInfo]
    ) -> VehicleInfo | None:
        """The vehicle a refused record names when known, else the one its transport
        authenticated (a record naming another VIN was still sent by that vehicle)."""
        vin = record.get("vin") if isinstance(record, Mapping) else None
        found = vehicles.get(vin) if isinstance(vin, str) else None
        return found or (vehicles.get(vehicle_vin) if vehicle_vin else None)
