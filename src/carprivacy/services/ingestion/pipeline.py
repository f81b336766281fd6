"""Ingest telemetry (SPEC I1-I3, P4): the pipeline every transport (HTTP, MQTT, workshop) runs,
one module a stage:

    parse -> validate -> attribute -> gate -> expiry -> seal -> store

``parse`` reads a record in its common form, ``validate`` checks the others and names every
problem, ``attribute`` finds the data subject at the record's own time, ``gate`` applies the
collection gate (consent-dependent categories such as OBFCM), ``expiry`` dates the value and
refuses one already past its retention, ``seal`` encrypts sensitive values under the subject's
key, ``store`` writes the batch all or nothing (with ``conflicts`` telling a redelivery from
another value under a stored key, and ``quarantine`` keeping the refused records sealed).

``IngestService.ingest`` takes a batch of wire records and returns each record's status. Good
records are stored; refused ones go to quarantine with their reasons; both in ONE transaction, so
that when ``ingest`` returns, everything it reports is durable (acknowledged = durable). A
redelivered record (same vehicle, signal, time, source and value) is stored once and reported as
``duplicate``; a record with the natural key of a stored one but another value is refused
(``conflicting_duplicate``) and quarantined: the stored value stays, the new one is not lost.

Per batch, not per record: one vehicle lookup for all VINs, one key lookup for all owners.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, NamedTuple

from carprivacy.domain.errors import Problem
from carprivacy.domain.policy import Policy
from carprivacy.domain.signals.catalogue import SignalCatalogue
from carprivacy.domain.telemetry import TelemetryRow
from carprivacy.services.ingestion.attribute import Attribution, Moment, VehicleInfo, fault_problem
from carprivacy.services.ingestion.conflicts import ConflictResolver
from carprivacy.services.ingestion.expiry import Expiries, expired_problem
from carprivacy.services.ingestion.gate import BatchConsents
from carprivacy.services.ingestion.parse import (
    Entry,
    batch_vins,
    compile_entries,
    read_common,
    source_of,
)
from carprivacy.services.ingestion.ports import (
    ConsentLookup,
    TelemetryRepository,
    VehicleDirectory,
)
from carprivacy.services.ingestion.quarantine import QUARANTINE_RETENTION, QuarantineSealer
from carprivacy.services.ingestion.seal import Sealing, seal_pending, sensitive_texts
from carprivacy.services.ingestion.store import store_batch
from carprivacy.services.ingestion.validate import check
from carprivacy.services.ports.crypto import FieldCipher

_log = logging.getLogger(__name__)

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
        self._expiries = Expiries(policy, catalogue.categories)
        self._accepted: list[RecordStatus] = []
        self._entries = compile_entries(policy, catalogue, gated=consents is not None)
        self._gated_signals = frozenset(n for n, e in self._entries.items() if e.gate)
        # called with the rows a batch stored, after its commit (never before): the stream
        self.stored_listeners: list[Callable[[Sequence[TelemetryRow]], None]] = []

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
        """Validate, attribute, gate, date, encrypt and store one batch; every record gets a
        status.

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
        problem (``validate``)."""
        src = source_of(source)
        received_at = _utc(received_at)
        vins = batch_vins(records, vehicle_vin)
        if vehicles is None:
            vehicles = self._vehicles.by_vins(vins) if vins else {}
        else:
            vehicles = {vin: vehicles[vin] for vin in vins if vin in vehicles}
        attribution = Attribution(vehicles, src, received_at + self._max_future_skew)
        of_text, of_time = attribution.of_text, attribution.of_time
        entries = self._entries
        expiry = self._expiries.expires_at
        problems: dict[int, list[Problem]] = {}  # refused and quarantined
        blocked: dict[int, tuple[Problem, ...]] = {}  # refused by the subject's choice: not kept
        consents = BatchConsents(self._consents, self._gated_signals, records, vehicles)
        rows: list[TelemetryRow | None] = []
        entry: Entry
        text: str

        def sender(index: int) -> int:
            return index if positions is None else positions[index]

        for index, record in enumerate(records):
            if refused and index in refused:
                problems[index] = list(refused[index])
                continue
            m: Moment | None = None
            common = read_common(record, vehicle_vin, entries)  # parse
            if common is not None:
                vin, raw_ts, entry, text = common
                m = of_text(vin, raw_ts)  # attribute (None: the time needs the full check)
            if m is None:  # validate: off the common path, the full check names every problem
                checked = check(
                    self.catalogue,
                    entries,
                    record,
                    sender(index),
                    vehicle_vin=vehicle_vin,
                    received_at=received_at,
                    max_future_skew=self._max_future_skew,
                )
                if isinstance(checked, list):
                    problems[index] = checked
                    continue
                vin, ts, entry, text = checked
                m = of_time(vin, ts)  # attribute
            if m.fault is not None:
                problems[index] = [fault_problem(m, sender(index))]
                continue
            if entry.gate is not None and m.subject_id is not None:  # gate
                refusal = consents.refusal(entry.gate, m, received_at, sender(index))
                if refusal is not None:  # the subject said no: answered, kept nowhere
                    blocked[index] = (refusal,)
                    continue
            category = entry.category
            try:  # expiry
                expires_at = m.expiries[category]
            except KeyError:
                expires_at = m.expiries[category] = expiry(category, m.end_of_life, m.ts)
            if expires_at is not None and expires_at <= received_at:  # already past retention
                problems[index] = [expired_problem(sender(index))]
                continue
            if entry.sensitive:  # sealed below, once the owner's key is loaded
                m.sealing.append(Sealing(len(rows), index, entry, text, m, expires_at))
                rows.append(None)
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

        # seal
        sealing = attribution.sealing
        stored_rows: list[TelemetryRow] = rows  # type: ignore[assignment]
        kept: list[int] | None = None  # positions in ``rows`` of ``stored_rows`` if some dropped
        if seal_pending(self._cipher, sealing, rows, problems, received_at, src, positions):
            kept = [p for p, r in enumerate(rows) if r is not None]
            stored_rows = [rows[p] for p in kept]  # type: ignore[misc]

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

        # store (the conflict check runs between attempts, never inside the transaction)
        resolver = ConflictResolver(
            self._cipher,
            self._quarantine,
            records,
            stored_rows,
            lambda: sensitive_texts(sealing, kept),
            record_of,
            sender,
        )
        duplicates = store_batch(self._telemetry, stored_rows, quarantine, resolver)
        conflicting = resolver.refused
        if self.stored_listeners and len(duplicates) < len(stored_rows):
            self._tell_stored(stored_rows, duplicates)
        accepted = self._accepted_statuses(len(records))  # immutable: shared between results
        if problems or duplicates or blocked:
            again = {record_of(p) for p in duplicates} - conflicting.keys()
            statuses = [
                RecordStatus(i, "rejected", tuple(problems[i]))
                if i in problems
                else RecordStatus(i, "rejected", blocked[i])
                if i in blocked
                else RecordStatus(i, "rejected", tuple(conflicting[i]))
                if i in conflicting
                else RecordStatus(i, "duplicate")
                if i in again
                else accepted[i]
                for i in range(len(records))
            ]
        else:
            statuses = accepted[: len(records)]
        return IngestResult(
            len(stored_rows) - len(duplicates),
            len(problems) + len(blocked) + len(conflicting),
            statuses,
            duplicates=len(duplicates) - len(conflicting),
        )

    def _tell_stored(self, rows: Sequence[TelemetryRow], duplicates: Sequence[int]) -> None:
        again = set(duplicates)
        new = [r for p, r in enumerate(rows) if p not in again] if again else rows
        for listener in self.stored_listeners:
            try:
                listener(new)
            except Exception:  # stored is stored: a listener's failure is its own
                _log.exception("a listener of stored telemetry failed")

    def _accepted_statuses(self, n: int) -> list[RecordStatus]:
        if len(self._accepted) < n:
            self._accepted = [RecordStatus(i, "accepted") for i in range(max(n, 1024))]
        return self._accepted

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
        src = source_of(source)
        received_at = _utc(received_at)
        vehicles = self._vehicles.by_vins([vehicle_vin]) if vehicle_vin else {}
        vehicle = vehicles.get(vehicle_vin) if vehicle_vin else None
        owner = self._quarantine.owner_of(vehicle, received_at)
        vehicle_id = vehicle.id if vehicle else None
        row = self._quarantine.sealed(raw, None, (problem,), src, vehicle_id, owner, received_at)
        self._telemetry.store([], [row])

    @staticmethod
    def _vehicle_of(
        record: object, vehicle_vin: str | None, vehicles: Mapping[str, VehicleInfo]
    ) -> VehicleInfo | None:
        """The vehicle a refused record names when known, else the one its transport
        authenticated (a record naming another VIN was still sent by that vehicle)."""
        vin = record.get("vin") if isinstance(record, Mapping) else None
        found = vehicles.get(vin) if isinstance(vin, str) else None
        return found or (vehicles.get(vehicle_vin) if vehicle_vin else None)
