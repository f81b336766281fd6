"""The decision service: gathers facts, asks the pure engine, records every decision (U1-U3).

``DecisionService.decide(request)`` reads every fact of the request in one read of the
:class:`~carprivacy.services.access.ports.DecisionFacts` port (the request's subject, else the user
of the vehicle at ``at``: consents, objections, overrides, restrictions, contracts, usage and fleet
periods, country), calls :func:`carprivacy.domain.decisions.decide`, and appends the request and
decision to the audit trail, allow and deny alike. ``decide_many`` does the same for a batch on one
read of the facts, appending the batch to the audit trail at once. Nothing is returned unless it
was recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from carprivacy.domain.access import Decision, DecisionRequest, Reason, Role
from carprivacy.domain.decision_facts import FactsSnapshot
from carprivacy.domain.decisions import CompiledPolicy, deny, screen
from carprivacy.domain.decisions import decide as decide_pure
from carprivacy.domain.decisions import decide_many as decide_batch
from carprivacy.domain.policy import Policy
from carprivacy.domain.subject_state import SubjectFacts
from carprivacy.services.access.ports import AuditRecorder, DecisionFacts

CLOCK_SKEW = timedelta(minutes=5)  # a caller's "now" this close to ours is now
TIME_ROLES = frozenset({Role.PRIVACY_OFFICER})  # may decide at another time than now
TIME_NOT_ALLOWED = Reason(
    "decision.time",
    "Art. 5(2) GDPR",
    "rights",
    "only the privacy officer, or a legal-claims purpose, may decide at another time than now",
)


class DecisionService:
    def __init__(
        self,
        policy: Policy,
        facts: DecisionFacts,
        audit: AuditRecorder,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.policy = CompiledPolicy(policy)
        self.facts = facts
        self.audit = audit
        self.clock = clock
        self._purposes = policy.purposes_by_id

    def timed(self, request: DecisionRequest) -> tuple[DecisionRequest, Decision | None]:
        """``request`` at the time it names, when its caller may name one; else the request at
        now and its refusal (``decision.time``, not yet recorded). A time within CLOCK_SKEW of
        now is now; another time is for the privacy officer or a legal-claims purpose only, and
        noted in the audit log as caller-set."""
        now = self.clock()
        if abs(request.at - now) <= CLOCK_SKEW:
            return request, None
        purpose = self._purposes.get(request.purpose)
        if request.caller.role in TIME_ROLES or (purpose is not None and purpose.legal_claims):
            return replace(request, extra={**request.extra, "time": "caller-set"}), None
        at_now = replace(request, at=now)
        return at_now, deny(at_now, TIME_NOT_ALLOWED)

    def decide_asked(self, requests: Sequence[DecisionRequest]) -> list[Decision]:
        """Decisions a caller asks for at times it names (the decision point, POST
        /v1/decisions): each at its time where :meth:`timed` allows it, refused otherwise; all
        recorded in one append, in order."""
        timed = [self.timed(r) for r in requests]
        todo = [r for r, refusal in timed if refusal is None]
        facts = iter(self.facts_of(todo) if todo else [])
        out = [
            refusal if refusal is not None else decide_pure(self.policy, r, next(facts))
            for r, refusal in timed
        ]
        self.record([r for r, _ in timed], out)
        return out

    def facts_of(self, requests: Sequence[DecisionRequest]) -> list[SubjectFacts]:
        """The facts of each request, from one read of the decision facts."""
        subjects = {r.subject_id for r in requests if r.subject_id is not None}
        vehicles = {r.vehicle_id for r in requests if r.vehicle_id is not None}
        snapshot = self.facts.snapshot(subjects, vehicles, countries=self.needs_country(requests))
        return self._cut(requests, snapshot)

    def needs_country(self, requests: Sequence[DecisionRequest]) -> bool:
        """Whether any request's recipient is limited to service countries (then the subject's
        country of residence is a fact of its decision)."""
        for r in requests:
            static = self.policy.static(r.purpose, r.caller, r.categories)
            if not isinstance(static, Reason) and static.service_countries:
                return True
        return False

    @staticmethod
    def _cut(requests: Sequence[DecisionRequest], snapshot: FactsSnapshot) -> list[SubjectFacts]:
        return [
            snapshot.facts_for(
                r.subject_id, r.vehicle_id, r.at, with_fleets=r.caller.role is Role.FLEET_MANAGER
            )
            for r in requests
        ]

    def decide(self, request: DecisionRequest) -> Decision:
        (facts,) = self.facts_of([request])
        decision = decide_pure(self.policy, request, facts)
        self.audit.record(request, decision)
        return decision

    def check(self, requests: Sequence[DecisionRequest]) -> list[Decision]:
        """Decisions that release nothing and are not recorded: whether a use would be allowed
        now (the stream's reconciler asks every second whether a connection may stay open; what
        it then releases is decided again, and recorded, by the gate)."""
        facts = self.facts_of(requests) if requests else []
        return [decide_pure(self.policy, r, f) for r, f in zip(requests, facts, strict=True)]

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
        facts = self.facts_of(requests) if requests else []
        out = [decide_pure(self.policy, r, f) for r, f in zip(requests, facts, strict=True)]
        self.record(requests, out, extra)
        return out

    def decide_with(
        self,
        requests: Sequence[DecisionRequest],
        snapshot: FactsSnapshot,
        *,
        record: bool = True,
    ) -> list[Decision]:
        """Decide on facts already read (the gate reads them with the records they are about);
        recorded unless ``record`` is False (then the caller records what it releases)."""
        facts = self._cut(requests, snapshot)
        out = decide_batch(self.policy, list(zip(requests, facts, strict=True)))
        if record:
            self.record(requests, out)
        return out

    def record(
        self,
        requests: Sequence[DecisionRequest],
        decisions: Sequence[Decision],
        extra: Sequence[tuple[DecisionRequest, Decision]] = (),
    ) -> None:
        """Append decisions to the audit trail in one transaction."""
        pairs = [*zip(requests, decisions, strict=True), *extra]
        if pairs:
            self.audit.record_many(pairs)

    def record_read(
        self,
        requests: Sequence[DecisionRequest],
        decisions: Sequence[Decision],
        extra: Sequence[tuple[DecisionRequest, Decision]] = (),
    ) -> None:
        """Append the decisions of one read of several records as one access to their subjects
        (one entry per distinct decision, naming them), in one transaction."""
        pairs = [*zip(requests, decisions, strict=True), *extra]
        if pairs:
            self.audit.record_read(pairs)
