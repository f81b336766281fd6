"""The gate: every read of personal data is decided, released in its form, and audited (U1-U3).

One use case for every entrypoint (HTTP routes, CLI commands, exports): a :class:`Reading` (who
reads, for which purpose, as which action, at which time) and a :class:`View` of the records go in,
released records come out. The gate

1. refuses what needs no look-up (purpose, organisation, role, categories, transfer, a customer
   naming another subject) before anything is read, so a refused caller learns no ids;
2. refuses a decision time other than now unless the caller may set one (``decision.time``):
   the privacy officer or a legal-claims purpose; such decisions are audited as caller-set;
3. loads the records and every fact their decisions need in one transaction
   (:class:`~carprivacy.services.access.ports.DecisionFacts`), decides them in one batch, and
   records the decisions in the audit trail in one more; a read of several records (a page, a
   chunk of a stream) is one access to their N subjects: one entry per distinct decision,
   naming the subjects, not N entries;
4. releases each allowed record in the decision's form (``views.release``): minimised fields,
   pseudonyms per recipient and per thing named, coarsened times, vehicle-linked without the
   customer; a record whose ``expires_at`` has passed is never released (Art. 5(1)(e));
5. answers a forbidden and an unknown record alike: an unknown id is decided as a record nobody's
   facts cover, so a caller who would be refused is refused with the same rule, and only a caller
   who may read any such record learns that it does not exist (404);
6. never reaches vehicle-linked data through a customer (``form.vehicle_linked``): that form
   exists so a recipient cannot link a person to a VIN;
7. counts only what the caller may see: a list's ``total`` is the number of records it may read;
8. releases records attributed at their own time (``attributed``: telemetry, stored with the
   vehicle's subject and fleet at the record's moment) to a customer only when the record is
   theirs, to a fleet manager only when the record was made while the vehicle was in its fleet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Generic, TypeVar

from carprivacy.domain.access import Caller, Decision, DecisionRequest, Reason, Role
from carprivacy.domain.decision_facts import FactsSnapshot, SubjectRecord
from carprivacy.domain.decisions import deny
from carprivacy.domain.errors import AccessDeniedError, NotFoundError
from carprivacy.domain.policy import Coarsening, Form, Policy
from carprivacy.domain.pseudonym import Pseudonymiser
from carprivacy.services.access.attributed import AttributedKey, RowLayout, release_rows
from carprivacy.services.access.attributed import expired as _expired
from carprivacy.services.access.decisions import DecisionService
from carprivacy.services.access.ports import ReadSession
from carprivacy.services.access.read_scope import (
    VEHICLE_LINKED_VIA_SUBJECT,
    needs_vehicle_facts,
    out_of_scope,
)
from carprivacy.services.access.views import RowReleaser, Shape, View, release, row_releaser

EXPIRES_AT = "expires_at"
POSITION_FIELDS = frozenset({"latitude", "longitude", "lat", "lon", "lng"})
POSITION_SIGNAL_SUFFIXES = (".Latitude", ".Longitude")
MAX_PAGE = 500
UNKNOWN_SUBJECT = "unknown"  # the stand-in subject of an unknown record

AGGREGATED_ONLY = Reason(
    "form.aggregated_anonymous",
    "Art. 5(1)(c) GDPR",
    "D",
    "this purpose releases no records, only aggregated and anonymised reports",
)

CATALOGUE_ONLY = Reason(
    "form.catalogue",
    "Art. 5(1)(c) GDPR; Art. 3(2) Regulation (EU) 2023/2854",
    "H",
    "this purpose releases no values, only which data a vehicle can provide (the catalogue)",
)

T = TypeVar("T")
R = TypeVar("R", bound=Sequence[Any])


@dataclass(frozen=True)
class Reading:
    """Who reads, for which purpose, as which action (for the audit log), at which time."""

    caller: Caller
    purpose: str
    action: str = "read"
    at: datetime | None = None  # a caller-set decision time; None: now


@dataclass(frozen=True)
class Record:
    """A loaded record and whom it is about."""

    data: dict[str, object]
    subject_id: str | None = None
    vehicle_id: str | None = None


@dataclass(frozen=True)
class Ref:
    """Whom a record is about, without its content: what a list is counted and decided on."""

    id: str
    subject_id: str | None = None
    vehicle_id: str | None = None


S = TypeVar("S", bound=ReadSession)


@dataclass(frozen=True)
class Released(Generic[T]):
    items: list[dict[str, object]]
    total: int
    offset: int = 0
    limit: int = MAX_PAGE


@dataclass
class Gate(Generic[S]):
    """The gate over read sessions of type ``S`` (a unit of work that also reads the facts)."""

    policy: Policy
    decisions: DecisionService
    session: Callable[[], S]  # a context manager: one read transaction
    pseudonym_secret: bytes
    clock: Callable[[], datetime]
    _pseudonymisers: dict[str, Pseudonymiser] = field(default_factory=dict, init=False)
    _shapes: dict[tuple[str, str], Shape] = field(default_factory=dict, init=False)

    # -- the steps ---------------------------------------------------------------------------

    def moment(self, reading: Reading, view: View) -> tuple[datetime, dict[str, str]]:
        """The decision time of ``reading`` and what the audit log notes about it; a time the
        caller may not set is refused (``decision.time``, recorded)."""
        extra = {"action": reading.action}
        at = reading.at or self.clock()
        timed, refusal = self.decisions.timed(self._request(reading, view, at, extra))
        if refusal is not None:
            self.decisions.record([timed], [refusal])
            raise AccessDeniedError(_refusal(reading), tuple(str(r) for r in refusal.reasons))
        return (timed.at if reading.at else self.clock()), timed.extra

    def screen(
        self,
        reading: Reading,
        view: View,
        *,
        subject_id: str | None = None,
        vehicle_id: str | None = None,
    ) -> tuple[datetime, dict[str, str]]:
        """Refuse (recorded) what needs no look-up; the decision time and audit notes else."""
        at, extra = self.moment(reading, view)
        request = self._request(reading, view, at, extra, subject_id, vehicle_id)
        refused = self.decisions.screen(request)
        if refused is not None:
            raise AccessDeniedError(_refusal(reading), tuple(str(r) for r in refused.reasons))
        return at, extra

    # -- a use without a release, one record, the records of a subject, a page, a stream -----

    def permit(
        self,
        reading: Reading,
        categories: tuple[str, ...],
        *,
        subject_id: str | None = None,
        vehicle_id: str | None = None,
        form: Form | None = None,
    ) -> Decision:
        """A use of personal data that releases no record through the gate (recording an
        automated decision about a person, reading one back): decided at the reading's time,
        recorded, and refused with AccessDeniedError (403 with the reasons) when not allowed,
        or (``form``) when the decision's form is not that one."""
        view = View(categories[0] if categories else "", {})
        at, extra = self.moment(reading, view)
        request = replace(
            self._request(reading, view, at, extra, subject_id, vehicle_id), categories=categories
        )
        decision = self.decisions.decide(request)
        if not decision.allowed:
            raise AccessDeniedError(_refusal(reading), tuple(str(r) for r in decision.reasons))
        if form is not None and decision.form is not form:
            raise AccessDeniedError(
                f"this is released only in {form.value} form", (f"form.{form.value}_only",)
            )
        return decision

    def one(
        self,
        reading: Reading,
        view: View,
        load: Callable[[S], Record],
        *,
        subject_id: str | None = None,
        vehicle_id: str | None = None,
    ) -> dict[str, object]:
        """Release one record, or raise AccessDeniedError (403 with the reasons).

        ``subject_id``/``vehicle_id`` are what the caller named (screened before the look-up);
        ``load`` reads the record in the session, NotFoundError when there is none."""
        at, extra = self.screen(reading, view, subject_id=subject_id, vehicle_id=vehicle_id)
        with self.session() as session:
            missing: NotFoundError | None = None
            try:
                record: Record | None = load(session)
            except NotFoundError as error:
                record, missing = None, error
            probe = record or Record({}, subject_id, vehicle_id)
            snapshot = session.snapshot(
                _ids([probe.subject_id]),
                _ids([probe.vehicle_id]),
                countries=self._countries(reading, view),
            )
        request = self._request(reading, view, at, extra, probe.subject_id, probe.vehicle_id)
        if record is None:
            self._unknown(reading, view, request, missing)
        (decided,) = self.decisions.decide_with([request], snapshot, record=False)
        decision = _not_only_aggregated(request, decided)
        self.decisions.record([request], [decision])
        if not decision.allowed:
            raise AccessDeniedError(_refusal(reading), tuple(str(r) for r in decision.reasons))
        (released,) = self._release(reading, view, [(record, decision)], at)  # type: ignore[list-item]
        if released is None:
            raise AccessDeniedError(_refusal(reading), (str(self._expired_reason(view)),))
        return released

    def of(
        self,
        reading: Reading,
        view: View,
        load: Callable[[S], Iterable[Record]],
        *,
        subject_id: str | None = None,
        vehicle_id: str | None = None,
    ) -> list[dict[str, object]]:
        """The records of the subject or vehicle the caller named (a customer's contracts, a
        vehicle's usage periods): refused as a whole when the caller may read none of them, or
        when the named owner is unknown, exactly as a forbidden one would be."""
        at, extra = self.screen(reading, view, subject_id=subject_id, vehicle_id=vehicle_id)
        with self.session() as session:
            missing: NotFoundError | None = None
            try:
                records: list[Record] | None = list(load(session))
            except NotFoundError as error:
                records, missing = None, error
            found = records or []
            snapshot = session.snapshot(
                _ids([subject_id, *(r.subject_id for r in found)]),
                _ids([vehicle_id, *(r.vehicle_id for r in found)]),
                countries=self._countries(reading, view),
            )
        named = self._request(reading, view, at, extra, subject_id, vehicle_id)
        if records is None:
            self._unknown(reading, view, named, missing)
        if subject_id is not None and not found:
            # Nothing to decide per row: decide the named subject, so an empty answer is given
            # only to a caller who could read the subject's records.
            (decided,) = self.decisions.decide_with([named], snapshot, record=False)
            decision = _not_only_aggregated(named, decided)
            self.decisions.record([named], [decision])
            if not decision.allowed:
                raise AccessDeniedError(_refusal(reading), tuple(str(r) for r in decision.reasons))
            self._refuse_vehicle_linked(reading, named, decision, subject_id)
            return []
        requests = [
            self._request(reading, view, at, extra, r.subject_id, r.vehicle_id) for r in found
        ]
        found_decisions = self.decisions.decide_with(requests, snapshot, record=False)
        decisions = [
            _not_only_aggregated(r, d) for r, d in zip(requests, found_decisions, strict=True)
        ]
        if subject_id is not None:
            for request, decision in zip(requests, decisions, strict=True):
                self._refuse_vehicle_linked(reading, request, decision, subject_id)
        if found and not any(d.allowed for d in decisions):
            self.decisions.record_read(requests, decisions)
            first = next(d for d in decisions if not d.allowed)
            raise AccessDeniedError(_refusal(reading), tuple(str(r) for r in first.reasons))
        self.decisions.record_read(requests, decisions)
        pairs = [(r, d) for r, d in zip(found, decisions, strict=True) if d.allowed]
        return [x for x in self._release(reading, view, pairs, at) if x is not None]

    def page(
        self,
        reading: Reading,
        view: View,
        index: Callable[[S], Sequence[Ref]],
        load: Callable[[S, Sequence[str]], Iterable[Record]],
        offset: int,
        limit: int,
    ) -> Released[object]:
        """A page of a list: every row the list holds is decided (on one facts read, from
        ``index``, which reads no content); ``total`` counts the rows the caller may read;
        only the page's rows are loaded (``load(session, ids)``, in index order) and released.
        The page's rows are recorded as one access to their subjects (one entry naming them),
        the rows the caller may not read as one refusal naming none."""
        at, extra = self.screen(reading, view)
        with self.session() as session:
            refs = list(index(session))
            snapshot = session.snapshot(
                _ids(r.subject_id for r in refs),
                _ids(r.vehicle_id for r in refs),
                countries=self._countries(reading, view),
            )
        requests = [
            self._request(reading, view, at, extra, r.subject_id, r.vehicle_id) for r in refs
        ]
        decisions = self.decisions.decide_with(requests, snapshot, record=False)
        rows = list(zip(refs, requests, decisions, strict=True))
        allowed = [x for x in rows if x[2].allowed]
        window = allowed[offset : offset + limit]
        refused = len(rows) - len(allowed)
        summary: list[tuple[DecisionRequest, Decision]] = []
        if refused:  # the rows the caller may not read: one entry, neither listed nor counted
            request = self._request(reading, view, at, {**extra, "rows": str(refused)})
            summary = [(request, deny(request, self._rest_reason(reading.caller, rows)))]
        self.decisions.record_read([w[1] for w in window], [w[2] for w in window], summary)
        with self.session() as session:
            loaded = {
                str(r.data.get(view.key)): r for r in load(session, [w[0].id for w in window])
            }
        pairs = [(loaded[w[0].id], w[2]) for w in window if w[0].id in loaded]
        items = [x for x in self._release(reading, view, pairs, at) if x is not None]
        return Released(items, len(allowed), offset, limit)

    def stream(
        self, reading: Reading, view: View, records: Iterable[Record], chunk: int = MAX_PAGE
    ) -> Iterator[dict[str, object]]:
        """Release a stream of records (exports, CLI): decided and recorded per chunk, each
        chunk's facts in one read; denied records are left out."""
        at, extra = self.screen(reading, view)
        batch: list[Record] = []
        for record in records:
            batch.append(record)
            if len(batch) >= chunk:
                yield from self._stream_chunk(reading, view, batch, at, extra)
                batch = []
        if batch:
            yield from self._stream_chunk(reading, view, batch, at, extra)

    # -- records attributed at their own time (telemetry read back) ---------------------------

    def attributed(
        self,
        reading: Reading,
        views: Sequence[View],
        pages: Iterable[Sequence[R]],
        layout: RowLayout,
        view_of: Callable[[Any], View | None],
        open_row: Callable[[R], Sequence[object]],
        *,
        subject_id: str | None = None,
        vehicle_id: str | None = None,
        every_view: bool = True,
        refuse_empty: bool = True,
        required: str | None = None,
    ) -> Iterator[tuple[R, dict[str, object]]]:
        """Release rows of several views (a telemetry value's view depends on its signal)
        attributed at their own time, as (row, released) pairs (``attributed.release_rows``).

        ``views`` are screened now, before anything is read (``every_view``: a refused view
        refuses the read; else only the refused views are left out, and the read is refused
        when all are). Then, per page of ``pages``: one decision per distinct (category,
        subject, vehicle, fleet) of the read, on one facts read for the keys not met before,
        recorded in the audit trail once (the decision time is the reading's, so one decision
        holds for every row it covers); a customer gets only rows attributed to them, a fleet
        manager only rows of its fleet's time, and a read through a subject nothing in
        vehicle-linked form. ``open_row`` opens an allowed row (e.g. decrypts it) just before
        its release: a refused row is never opened. A row past its ``expires_at`` is never
        released. ``refuse_empty``: when rows were met but none was allowed, AccessDeniedError
        with the first refusal's reasons. ``required``: only releases that have this field are
        given (telemetry: a value whose policy field the caller does not receive is left out)."""
        screened: list[View] = []
        refusal: AccessDeniedError | None = None
        at, extra = self.clock(), {"action": reading.action}
        for view in views:
            try:
                at, extra = self.screen(reading, view, subject_id=subject_id, vehicle_id=vehicle_id)
            except AccessDeniedError as error:
                if every_view:
                    raise
                refusal = refusal or error
                continue
            screened.append(view)
        if not screened:
            raise refusal or AccessDeniedError(_refusal(reading), ("category.not_allowed",))
        early = self._within_scope(reading, screened, at, extra, subject_id, vehicle_id)
        pseudonymiser = self.pseudonymiser(reading.caller.organisation)

        def decide(keys: list[AttributedKey]) -> list[Decision]:
            subjects, vehicles = _ids(k[1] for k in keys), _ids(k[2] for k in keys)
            countries = self._countries(reading, View(keys[0][0], {}))
            if early is not None and early.covers(subjects, vehicles, countries):
                snapshot = early.snapshot  # the facts the scope was judged on: the same read
            else:
                with self.session() as session:
                    snapshot = session.snapshot(subjects, vehicles, countries=countries)
            requests = [self._request(reading, View(k[0], {}), at, extra, k[1], k[2]) for k in keys]
            found = self.decisions.decide_with(requests, snapshot, record=False)
            checked = [
                self._attribution(reading.caller, q, d, k[3], subject_id)
                for q, d, k in zip(requests, found, keys, strict=True)
            ]
            self.decisions.record_read(requests, checked)
            return checked

        def prepare(view: View, decision: Decision) -> RowReleaser:
            shape = self._shape(view.category, decision.purpose)
            return row_releaser(view, decision, shape, pseudonymiser, layout.names)

        compiled = self.decisions.policy
        # the refusals of a record of another person's or fleet's time, within the scope
        others_time = {compiled.not_own_data.rule, compiled.fleet_not_member.rule}

        def refused(decision: Decision) -> AccessDeniedError | None:
            if decision.reasons and decision.reasons[0].rule in others_time:
                return None  # another person's or fleet's time: left out, never refused
            return AccessDeniedError(_refusal(reading), tuple(str(r) for r in decision.reasons))

        def nothing_met() -> AccessDeniedError | None:
            error = self._empty_read(reading, screened[0], at, extra, subject_id, vehicle_id)
            return None if error is None else refused(error)

        return release_rows(
            pages,
            layout,
            view_of,
            frozenset(v.category for v in screened),
            decide,
            prepare,
            open_row,
            at,
            refused if refuse_empty else None,
            required,
            nothing_met if refuse_empty else None,
        )

    def _empty_read(
        self,
        reading: Reading,
        view: View,
        at: datetime,
        extra: dict[str, str],
        subject_id: str | None,
        vehicle_id: str | None,
    ) -> Decision | None:
        """A read that met no record, decided as a record of the named subject, else of each
        person who used the named vehicle, would be (a stand-in with no facts when there is
        none, as for an unknown record): the first refusal (recorded) when none is allowed, so
        that an empty period, an unknown id and a forbidden id with values answer alike."""
        with self.session() as session:
            snapshot = session.snapshot(
                () if subject_id is None else (subject_id,),
                () if vehicle_id is None else (vehicle_id,),
                countries=self._countries(reading, view),
            )
        candidates: list[str | None] = [subject_id]
        if subject_id is None:
            candidates = [*sorted({p.subject_id for p in snapshot.usage.get(vehicle_id or "", ())})]
        known = {s for s in candidates if s is not None and s in snapshot.subjects}
        if not known:
            stand_in = subject_id or (UNKNOWN_SUBJECT if view.of_a_person else None)
            candidates = [stand_in]
            subjects = {stand_in: _NO_FACTS} if stand_in else {}
            snapshot = replace(snapshot, subjects=subjects)
        requests = [self._request(reading, view, at, extra, s, vehicle_id) for s in candidates]
        found = self.decisions.decide_with(requests, snapshot, record=False)
        checked = [
            self._attribution(reading.caller, q, d, reading.caller.fleet_id, subject_id)
            for q, d in zip(requests, found, strict=True)
        ]
        if any(d.allowed for d in checked):
            return None
        first = checked[0]
        self.decisions.record([requests[0]], [first])
        return first

    def _within_scope(
        self,
        reading: Reading,
        views: Sequence[View],
        at: datetime,
        extra: dict[str, str],
        subject_id: str | None,
        vehicle_id: str | None,
    ) -> ReadFacts | None:
        """Refuse (recorded) a read of a vehicle or subject outside the caller's scope before
        anything is read, so that an unknown id and a forbidden one answer alike
        (``read_scope``). The facts read for it (the vehicle's, with the calling person's),
        if any, are returned for the read's own decisions."""
        early: ReadFacts | None = None
        view = views[0]
        if needs_vehicle_facts(reading.caller, subject_id, vehicle_id):
            assert vehicle_id is not None
            own = _ids((reading.caller.subject_id,))
            countries = any(self._countries(reading, v) for v in views)
            with self.session() as session:
                snapshot = session.snapshot(own, (vehicle_id,), countries=countries)
            early = ReadFacts(snapshot, frozenset(own), frozenset((vehicle_id,)), countries)
        facts = None if early is None else early.snapshot
        policy = self.decisions.policy
        reason = out_of_scope(
            self.policy,
            reading.caller,
            reading.purpose,
            subject_id=subject_id,
            vehicle_id=vehicle_id,
            own_reason=policy.not_own_data,
            fleet_reason=policy.fleet_not_member,
            facts=facts,
        )
        if reason is not None:
            request = self._request(reading, view, at, extra, subject_id, vehicle_id)
            self.decisions.record([request], [deny(request, reason)])
            raise AccessDeniedError(_refusal(reading), (str(reason),))
        return early

    def _attribution(
        self,
        caller: Caller,
        request: DecisionRequest,
        decision: Decision,
        fleet_id: str | None,
        named_subject: str | None,
    ) -> Decision:
        """An allowed decision on a record attributed at its own time, refused when the record
        is not the caller's (a customer's own, a fleet's time), is reached through a subject in
        vehicle-linked form, or would be released only aggregated."""
        if not decision.allowed:
            return decision
        policy = self.decisions.policy
        if caller.role is Role.CUSTOMER and request.subject_id != caller.subject_id:
            return deny(request, policy.not_own_data)
        if caller.role is Role.FLEET_MANAGER and fleet_id != caller.fleet_id:
            return deny(request, policy.fleet_not_member)
        if named_subject is not None and decision.form is Form.VEHICLE_LINKED:
            return deny(request, VEHICLE_LINKED_VIA_SUBJECT)
        return _not_only_aggregated(request, decision)

    # -- parts -------------------------------------------------------------------------------

    def _stream_chunk(
        self,
        reading: Reading,
        view: View,
        batch: list[Record],
        at: datetime,
        extra: dict[str, str],
    ) -> Iterator[dict[str, object]]:
        with self.session() as session:
            snapshot = session.snapshot(
                _ids(r.subject_id for r in batch),
                _ids(r.vehicle_id for r in batch),
                countries=self._countries(reading, view),
            )
        requests = [
            self._request(reading, view, at, extra, r.subject_id, r.vehicle_id) for r in batch
        ]
        decisions = self.decisions.decide_with(requests, snapshot, record=False)
        self.decisions.record_read(requests, decisions)
        pairs = [(r, d) for r, d in zip(batch, decisions, strict=True) if d.allowed]
        yield from (x for x in self._release(reading, view, pairs, at) if x is not None)

    def _request(
        self,
        reading: Reading,
        view: View,
        at: datetime,
        extra: dict[str, str],
        subject_id: str | None = None,
        vehicle_id: str | None = None,
    ) -> DecisionRequest:
        return DecisionRequest(
            caller=reading.caller,
            purpose=reading.purpose,
            categories=(view.category,),
            at=at,
            subject_id=subject_id,
            vehicle_id=vehicle_id,
            extra=extra,  # shared by the reading's requests: read, never changed
        )

    def _countries(self, reading: Reading, view: View) -> bool:
        """Whether this reading's decisions need the subjects' countries of residence."""
        return self.decisions.needs_country([self._request(reading, view, self.clock(), {})])

    def _unknown(
        self,
        reading: Reading,
        view: View,
        request: DecisionRequest,
        missing: NotFoundError | None,
    ) -> None:
        """An unknown record: decided as the record of a subject with no consents, contracts or
        other facts (the one named, else a stand-in; none for records that name no person), so
        that a caller who would be refused for such a record gets the same refusal; only one who
        may read any record gets 404."""
        subject = request.subject_id or (UNKNOWN_SUBJECT if view.of_a_person else None)
        probe = replace(request, subject_id=subject)
        facts = FactsSnapshot({subject: _NO_FACTS} if subject else {})
        (decided,) = self.decisions.decide_with([probe], facts, record=False)
        # and refused as a record would be whatever its facts: not the caller's own, outside the
        # caller's fleet, reached through a subject in vehicle-linked form, only aggregated
        decision = self._attribution(reading.caller, probe, decided, None, request.subject_id)
        if not decision.allowed:
            self.decisions.record([request], [deny(request, decision.reasons[0])])
            raise AccessDeniedError(_refusal(reading), tuple(str(r) for r in decision.reasons))
        raise missing or NotFoundError("record", "requested")

    def _refuse_vehicle_linked(
        self, reading: Reading, request: DecisionRequest, decision: Decision, subject_id: str
    ) -> None:
        if decision.allowed and decision.form is Form.VEHICLE_LINKED:
            refused = deny(request, VEHICLE_LINKED_VIA_SUBJECT)
            self.decisions.record([request], [refused])
            raise AccessDeniedError(_refusal(reading), (str(VEHICLE_LINKED_VIA_SUBJECT),))

    def _rest_reason(
        self, caller: Caller, visible: Sequence[tuple[Ref, DecisionRequest, Decision]]
    ) -> Reason:
        for _, _, d in visible:
            if not d.allowed and d.reasons:
                return d.reasons[0]
        return self.decisions.policy.reach_reason(caller)

    def _expired_reason(self, view: View) -> Reason:
        return Reason(
            "retention.expired",
            "Art. 5(1)(e) GDPR",
            "retention",
            f"the {view.category} record is past its retention",
        )

    def _release(
        self,
        reading: Reading,
        view: View,
        pairs: Sequence[tuple[Record, Decision]],
        at: datetime,
    ) -> list[dict[str, object] | None]:
        pseudonymiser = self.pseudonymiser(reading.caller.organisation)
        out: list[dict[str, object] | None] = []
        for record, decision in pairs:
            if _expired(record.data.get(EXPIRES_AT), at):
                out.append(None)
                continue
            shape = self._shape(view.category, decision.purpose)
            out.append(release(view, decision, record.data, shape, pseudonymiser))
        return out

    def pseudonymiser(self, recipient: str) -> Pseudonymiser:
        """The pseudonyms of one recipient (an organisation of the policy)."""
        p = self._pseudonymisers.get(recipient)
        if p is None:
            p = self._pseudonymisers[recipient] = Pseudonymiser(self.pseudonym_secret, recipient)
        return p

    def _shape(self, category_id: str, purpose_id: str) -> Shape:
        key = (category_id, purpose_id)
        shape = self._shapes.get(key)
        if shape is None:
            category = self.policy.categories_by_id.get(category_id)
            purpose = self.policy.purposes_by_id.get(purpose_id)
            shape = self._shapes[key] = Shape(
                identifiers=category.direct_identifier_fields if category else frozenset(),
                positions=frozenset(
                    f.name
                    for f in (category.fields if category else ())
                    if f.name in POSITION_FIELDS
                    or (f.vss_signal or "").endswith(POSITION_SIGNAL_SUFFIXES)
                ),
                coarsening=purpose.coarsening if purpose else Coarsening(),
            )
        return shape


_NO_FACTS = SubjectRecord()


@dataclass(frozen=True)
class ReadFacts:
    """A facts snapshot of some subjects and vehicles, read once for a read's scope."""

    snapshot: FactsSnapshot
    subjects: frozenset[str]
    vehicles: frozenset[str]
    countries: bool

    def covers(self, subjects: set[str], vehicles: set[str], countries: bool) -> bool:
        """Whether it holds every fact a decision on these subjects and vehicles needs."""
        return (
            subjects <= self.subjects
            and vehicles <= self.vehicles
            and (self.countries or not countries)
        )


def _ids(values: Iterable[str | None]) -> set[str]:
    return {v for v in values if v is not None}


def _not_only_aggregated(request: DecisionRequest, decision: Decision) -> Decision:
    """Records are never released in aggregated or catalogue form: such an allowance is refused
    here."""
    if decision.allowed and decision.form is Form.AGGREGATED_ANONYMOUS:
        return deny(request, AGGREGATED_ONLY)
    if decision.allowed and decision.form is Form.CATALOGUE:
        return deny(request, CATALOGUE_ONLY)
    return decision


def _refusal(reading: Reading) -> str:
    return f"purpose {reading.purpose!r} does not allow this read"
