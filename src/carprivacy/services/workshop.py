"""Telemetry collected at the workshop (issue 3 item 4: source ``workshop``; notice section G,
SPEC C3, U1): OBFCM read-outs and service data that an authorised workshop uploads for the cars
it has in for service.

Unlike a car, a workshop is a *caller* of its own (a dealer or partner of the ``workshops``
recipient) and collects for a purpose it names. Collection is processing too, so the decision
engine decides it before anything is kept, per vehicle and category at the moment of upload:
purpose, recipient and category, the customer's refusal of OBFCM collection (consent topic
``obfcm_refusal``: "processing stops while refused"), objection, restriction. A refused record is
answered with the engine's rule and article and is kept nowhere, not even in quarantine: the
customer said no. Allowed records then take the same path as every other transport
(``IngestService``: validation, attribution, encryption, quarantine of malformed records).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from carprivacy.domain.access import Caller, Decision, DecisionRequest, Outcome
from carprivacy.domain.errors import AccessDeniedError, Problem
from carprivacy.domain.signals import SignalCatalogue
from carprivacy.services.ingest import IngestResult, IngestService, RecordStatus
from carprivacy.services.quarantine import VehicleInfo

ACTION = "POST /v1/workshop/telemetry"


class Decider(Protocol):
    def screen(self, request: DecisionRequest) -> Decision | None: ...

    def decide_many(self, requests: Sequence[DecisionRequest]) -> list[Decision]: ...


class Vehicles(Protocol):
    def by_vins(self, vins: Collection[str]) -> dict[str, VehicleInfo]: ...


class WorkshopCollector:
    def __init__(
        self,
        decisions: Decider,
        ingest: IngestService,
        catalogue: SignalCatalogue,
        vehicles: Vehicles,
    ) -> None:
        self._decisions = decisions
        self._ingest = ingest
        self._catalogue = catalogue
        self._vehicles = vehicles

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

        Raises AccessDeniedError (403, recorded) when the caller may not collect any of the
        records' categories for ``purpose`` at all, before any vehicle is looked up."""
        category_of = {i: self._category(r) for i, r in enumerate(records)}
        categories = tuple(sorted({c for c in category_of.values() if c is not None}))
        if categories:
            screened = self._decisions.screen(
                self._request(caller, purpose, categories, received_at)
            )
            if screened is not None:
                raise AccessDeniedError(
                    f"purpose {purpose!r} does not allow this collection",
                    tuple(str(r) for r in screened.reasons),
                )
        vins = {r["vin"] for r in records if isinstance(r, dict) and isinstance(r.get("vin"), str)}
        known = self._vehicles.by_vins(vins) if vins else {}
        pairs = sorted(
            {
                (known[r["vin"]].id, c)
                for i, r in enumerate(records)
                if (c := category_of[i]) is not None and r["vin"] in known
            }
        )
        requests = [
            self._request(caller, purpose, (c,), received_at, vehicle_id=v) for v, c in pairs
        ]
        decided = dict(zip(pairs, self._decisions.decide_many(requests), strict=True))
        denied: dict[int, tuple[Problem, ...]] = {}
        for i, r in enumerate(records):
            c = category_of[i]
            if c is None or r["vin"] not in known:
                continue  # ingestion names what is wrong with it
            decision = decided[(known[r["vin"]].id, c)]
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
        )
        return _merge(len(records), kept, result, denied)

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
        vehicle_id: str | None = None,
    ) -> DecisionRequest:
        return DecisionRequest(
            caller=caller,
            purpose=purpose,
            categories=categories,
            at=at,
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
