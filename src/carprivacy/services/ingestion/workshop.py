"""Telemetry collected at the workshop (source ``workshop``; notice section G,
SPEC C3, U1): OBFCM read-outs and service data that an authorised workshop uploads for the cars
it has in for service.

Unlike a car, a workshop is a *caller* of its own (a dealer or partner of the ``workshops``
recipient) and collects for a purpose it names. Collection is processing too, so the decision
engine decides it before anything is kept, per vehicle and category at the moment of upload:
purpose, recipient and category, the customer's refusal of OBFCM collection (consent topic
``obfcm_refusal``: "processing stops while refused"), objection, restriction. A refused record is
answered with the engine's rule and article and is kept nowhere, not even in quarantine: the
customer said no. Allowed records then take the same path as every other transport
(``IngestService``: validation, attribution, encryption), on the same snapshot of the vehicles
that was decided on; a malformed record (which no decision covered) leaves only its reasons in
quarantine, never its payload.

Who may upload: dealer or partner callers of the configured workshop organisations
(``workshop_organisations``, default the ``workshops`` recipient). Being a recipient of the
purpose is not enough (the EU Commission receives OBFCM data; it does not read out cars).

Whose data a record is: the vehicle's user at the record's own time (as ingestion attributes
it), decided at the time of upload (a refusal given since the read-out counts). A record of a
time when no person used the car is decided for the vehicle at that time.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from carprivacy.domain.access import Caller, DecisionRequest, Outcome, Reason, Role
from carprivacy.domain.errors import AccessDeniedError, Problem
from carprivacy.domain.signals import SignalCatalogue, parse_timestamp
from carprivacy.domain.vehicle_usage import subject_for
from carprivacy.services.ingestion.ports import Decider, Vehicles
from carprivacy.services.ingestion.service import IngestResult, IngestService, RecordStatus

ACTION = "POST /v1/workshop/telemetry"
COLLECTING_ROLES = frozenset({Role.DEALER, Role.PARTNER})


# (vehicle id, subject id or None, category, at): one decision covers the records of one key
_Key = tuple[str, str | None, str, datetime]


class WorkshopCollector:
    def __init__(
        self,
        decisions: Decider,
        ingest: IngestService,
        catalogue: SignalCatalogue,
        vehicles: Vehicles,
        organisations: Collection[str] = ("workshops",),
    ) -> None:
        self._decisions = decisions
        self._ingest = ingest
        self._catalogue = catalogue
        self._vehicles = vehicles
        self._organisations = frozenset(organisations)
        unknown = self._organisations - set(ingest.policy.recipients_by_id)
        if unknown:  # a configuration error, found at start-up
            raise ValueError(f"workshop_organisations: not policy recipients: {sorted(unknown)}")

    def collect(
        self,
        caller: Caller,
        purpose: str,
        records: Sequence[Any],
        *,
        received_at: datetime,
        refused: Mapping[int, Sequence[Problem]] | None = None,
    ) -> IngestResult:
        """Decide, then ingest what is allowed; every record gets a status (``IngestResult``).

        Raises AccessDeniedError (403, recorded) before any vehicle is looked up when the caller
        may not upload workshop data, or not for ``purpose`` and the records' categories."""
        category_of = {i: self._category(r) for i, r in enumerate(records)}
        categories = tuple(sorted({c for c in category_of.values() if c is not None}))
        self._screen(caller, purpose, categories, received_at)
        vins = {r["vin"] for r in records if isinstance(r, dict) and isinstance(r.get("vin"), str)}
        known = self._vehicles.by_vins(vins) if vins else {}
        key_of: dict[int, _Key] = {}
        for i, r in enumerate(records):
            c = category_of[i]
            vehicle = known.get(r["vin"]) if c is not None else None
            ts = parse_timestamp(r.get("ts")) if vehicle is not None else None
            if vehicle is None or ts is None or c is None:
                continue  # ingestion refuses it; only its reasons are kept
            subject = subject_for(vehicle.id, vehicle.usages, ts).customer_id
            # a person's record: decided at upload (a later refusal counts); no person: the
            # vehicle at the record's time, as ingestion attributes it
            key_of[i] = (vehicle.id, subject, c, received_at if subject is not None else ts)
        keys = sorted(set(key_of.values()), key=lambda k: (k[0], k[1] or "", k[2], k[3]))
        requests = [
            self._request(caller, purpose, (c,), at, vehicle_id=v, subject_id=s)
            for v, s, c, at in keys
        ]
        decided = dict(zip(keys, self._decisions.decide_many(requests), strict=True))
        denied: dict[int, tuple[Problem, ...]] = {}
        for i, key in key_of.items():
            decision = decided[key]
            if decision.outcome is not Outcome.ALLOW:
                denied[i] = tuple(
                    Problem(f"records[{i}]", reason.rule, f"{reason.message} ({reason.article})")
                    for reason in decision.reasons
                )
        kept = [i for i in range(len(records)) if i not in denied]
        result = self._ingest.ingest(
            [records[i] for i in kept],
            source="workshop",
            vehicle_vin=None,
            received_at=received_at,
            positions=kept,
            refused={n: refused[i] for n, i in enumerate(kept) if refused and i in refused},
            vehicles=known,
            keep_refused=False,
        )
        return _merge(len(records), kept, result, denied)

    def _screen(
        self, caller: Caller, purpose: str, categories: tuple[str, ...], at: datetime
    ) -> None:
        """Who may upload at all, for this purpose (recorded; 403 before any look-up). Screened
        with the records' categories that the purpose uses, or the purpose's own when none is:
        a record of another category is refused on its own (``category.not_allowed``), not the
        whole upload."""
        p = self._ingest.policy.purposes_by_id.get(purpose)
        if p is not None:
            categories = tuple(c for c in categories if c in p.categories) or p.categories
        categories = categories or ("none",)
        request = self._request(caller, purpose, categories, at)
        if caller.role not in COLLECTING_ROLES or caller.organisation not in self._organisations:
            reason = Reason(
                "caller.not_collector",
                "Art. 32(4) GDPR",
                "G",
                f"organisation {caller.organisation} with role {caller.role.value} does not "
                "read out cars: only workshop dealers and partners upload workshop data",
            )
            self._decisions.decide_list([], (request, reason))
            raise AccessDeniedError("this caller may not upload workshop data", (str(reason),))
        screened = self._decisions.screen(request)
        if screened is not None:
            raise AccessDeniedError(
                f"purpose {purpose!r} does not allow this collection",
                tuple(str(r) for r in screened.reasons),
            )

    def _category(self, record: object) -> str | None:
        """The policy category of a record that names a known signal and a vehicle."""
        if not isinstance(record, dict) or not isinstance(record.get("vin"), str):
            return None
        name = record.get("signal")
        signal = self._catalogue.get(name) if isinstance(name, str) else None
        return None if signal is None else signal.category

    @staticmethod
    def _request(
        caller: Caller,
        purpose: str,
        categories: tuple[str, ...],
        at: datetime,
        *,
        vehicle_id: str | None = None,
        subject_id: str | None = None,
    ) -> DecisionRequest:
        return DecisionRequest(
            caller=caller,
            purpose=purpose,
            categories=categories,
            at=at,
            subject_id=subject_id,
            vehicle_id=vehicle_id,
            extra={"action": ACTION},
        )


def _merge(
    total: int, kept: list[int], result: IngestResult, denied: Mapping[int, tuple[Problem, ...]]
) -> IngestResult:
    """The ingest result of the kept records, renumbered, with the refused ones in place."""
    statuses: list[RecordStatus | None] = [None] * total
    for n, i in enumerate(kept):
        s = result.statuses[n]
        statuses[i] = RecordStatus(i, s.status, s.errors)
    for i, problems in denied.items():
        statuses[i] = RecordStatus(i, "rejected", problems)
    return IngestResult(
        result.accepted,
        result.rejected + len(denied),
        [s for s in statuses if s is not None],
        duplicates=result.duplicates,
    )
