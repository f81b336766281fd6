"""The decision service: gathers facts, asks the pure engine, records every decision (U1-U3).

``DecisionService.decide(request)`` resolves who the data is about (the request's subject, else
the user of the vehicle at ``at``), reads that subject's consents, objections, overrides and
restrictions and the contracts and vehicle usage periods from master data, calls
:func:`carprivacy.domain.decisions.decide`, and appends the request and decision to the audit trail,
allow and deny alike. ``decide_many`` does the same for a batch, reading each subject's facts once
and appending the batch to the audit trail at once (``record_many`` where the trail has it).
Nothing is returned unless it was recorded.
"""

from __future__ import annotations

from collections.abc import Sequence

from carprivacy.domain.access import Decision, DecisionRequest, Reason, Role
from carprivacy.domain.decisions import CompiledPolicy, deny, screen
from carprivacy.domain.decisions import decide as decide_pure
from carprivacy.domain.errors import NotFoundError
from carprivacy.domain.policy import Policy
from carprivacy.domain.subject_state import ContractCover, FleetPeriod, SubjectFacts, UsagePeriod
from carprivacy.domain.vehicle_usage import UsageKind
from carprivacy.services.access.ports import AuditRecorder, MasterFacts
from carprivacy.services.consent.ports import SubjectStateRepository
from carprivacy.services.master.service import MasterDataService


class MasterDataFacts:
    """:class:`MasterFacts` read through the master data service (unknown ids: no facts)."""

    def __init__(self, master: MasterDataService) -> None:
        self.master = master

    def contracts_of(self, subject_id: str) -> list[ContractCover]:
        try:
            contracts = self.master.contracts_of(subject_id)
        except NotFoundError:
            return []
        return [
            ContractCover(c.id, c.customer_id, c.start, c.end, vehicle_id=c.vehicle_id)
            for c in contracts
        ]

    def usage_of(self, vehicle_id: str) -> list[UsagePeriod]:
        try:
            usages = self.master.usages_of(vehicle_id)
        except NotFoundError:
            return []
        return [
            UsagePeriod(
                u.vehicle_id, u.customer_id, u.start, u.end, driver=u.kind is UsageKind.DRIVER
            )
            for u in usages
            if u.customer_id is not None
        ]

    def fleets_of(self, vehicle_id: str) -> list[FleetPeriod]:
        try:
            usages = self.master.usages_of(vehicle_id)
        except NotFoundError:
            return []
        return [
            FleetPeriod(u.vehicle_id, u.fleet_id, u.start, u.end)
            for u in usages
            if u.kind is UsageKind.FLEET and u.fleet_id is not None
        ]

    def is_known(self, subject_id: str) -> bool:
        try:
            self.master.get_customer(subject_id)
        except NotFoundError:
            return False
        return True

    def country_of(self, subject_id: str) -> str | None:
        try:
            contact = self.master.get_customer(subject_id).contact
        except NotFoundError:
            return None
        return contact.country if contact is not None and contact.country else None


class DecisionService:
    def __init__(
        self,
        policy: Policy,
        state: SubjectStateRepository,
        master: MasterFacts,
        audit: AuditRecorder,
    ) -> None:
        self.policy = CompiledPolicy(policy)
        self.state = state
        self.master = master
        self.audit = audit

    def facts(
        self, subject_id: str | None, vehicle_id: str | None, request: DecisionRequest
    ) -> SubjectFacts:
        usage: tuple[UsagePeriod, ...] = ()
        fleets: tuple[FleetPeriod, ...] = ()
        if vehicle_id is not None:
            usage = tuple(self.master.usage_of(vehicle_id))
            if request.caller.role is Role.FLEET_MANAGER:
                fleets = tuple(self.master.fleets_of(vehicle_id))
        subject = subject_id
        if subject is None and vehicle_id is not None:
            subject = SubjectFacts(usage=usage).user_at(vehicle_id, request.at)
        if subject is None:
            return SubjectFacts(vehicle_id=vehicle_id, usage=usage, fleets=fleets)
        if subject_id is not None and not self.master.is_known(subject_id):
            return SubjectFacts(subject_id=subject, vehicle_id=vehicle_id, known=False)
        return SubjectFacts(
            subject_id=subject,
            fleets=fleets,
            vehicle_id=vehicle_id,
            country=self.master.country_of(subject),
            consents=tuple(self.state.consents(subject)),
            objections=tuple(self.state.objections(subject)),
            overrides=tuple(self.state.overrides(subject)),
            restrictions=tuple(self.state.restrictions(subject)),
            contracts=tuple(self.master.contracts_of(subject)),
            usage=usage,
        )

    def decide(self, request: DecisionRequest) -> Decision:
        facts = self.facts(request.subject_id, request.vehicle_id, request)
        decision = decide_pure(self.policy, request, facts)
        self.audit.record(request, decision)
        return decision

    def screen(self, request: DecisionRequest) -> Decision | None:
        """The refusal that needs no look-up of the subject, recorded; None if there is none.

        Routes ask this before they look a subject up (a 404 must not come before a 403)."""
        reason = screen(self.policy, request)
        if reason is None:
            return None
        decision = deny(request, reason)
        self.audit.record(request, decision)
        return decision

    def decide_list(
        self, requests: Sequence[DecisionRequest], remainder: tuple[DecisionRequest, Reason] | None
    ) -> list[Decision]:
        """Decide the rows of a list read the caller could see; one entry for the rest.

        Each row's decision is recorded (U3); ``remainder`` (when the list had rows outside the
        caller's reach) is recorded as a single refusal, in the same transaction."""
        extra = [] if remainder is None else [(remainder[0], deny(*remainder))]
        return self.decide_many(requests, extra)

    def decide_many(
        self,
        requests: Sequence[DecisionRequest],
        extra: Sequence[tuple[DecisionRequest, Decision]] = (),
    ) -> list[Decision]:
        cache: dict[tuple[str | None, str | None], SubjectFacts] = {}
        out: list[Decision] = []
        for request in requests:
            key = (request.subject_id, request.vehicle_id)
            facts = cache.get(key)
            if facts is None or (request.subject_id is None and request.vehicle_id is not None):
                # a vehicle-only request resolves the user at its own time: no sharing
                facts = self.facts(request.subject_id, request.vehicle_id, request)
                cache[key] = facts
            out.append(decide_pure(self.policy, request, facts))
        pairs = [*zip(requests, out, strict=True), *extra]
        if pairs:
            self.audit.record_many(pairs)  # one transaction for the batch (services/audit/trail.py)
        return out
