"""What the retention job removes (SPEC P4, L1): the policy's retention rules compiled, for one
moment ``now``, into steps, each an exact selection a store can evaluate on an index.

The steps, in the order a run takes them; their selections are disjoint, so a dry run that only
counts each one reports what a run would do, whatever the order:

- ``stamped`` (telemetry, the quarantine): rows whose stored ``expires_at`` is not after ``now``.
  Ingestion stamped it from the rules of the row's category and collection purposes
  (``services/ingestion/expiry.py``); which rule decided is recovered per row
  (:class:`StampedRules`), and that rule's action applies (delete, or anonymise).
- ``end_of_life`` (telemetry): rows held until the vehicle's end of life (``expires_at`` NULL when
  they were stored) whose vehicle has reached it by the rule's period, and whose own dated rules
  (4 weeks of section B) have run out as well.
- ``identified_end`` (telemetry): the identified form ends before the data does. Vehicle status
  and maintenance data, collected for section B (identified, 4 weeks) and kept for section D
  (after-sales service, vehicle-linked only) until the end of the vehicle's life, lose every link
  to the customer once the identified purposes' rules have run out: ``subject_id`` is cleared and
  the row is keyed to the vehicle. A value sealed under the subject's key cannot be re-keyed
  without the subject's key, so it is deleted instead.
- ``anchored`` (contracts, financial transactions): master records whose anchor (the contract's
  end, the booking date) lies at or before the rules' cutoff: 1 year after the contract ended,
  10 years after the transaction. A record kind that does not record a rule's anchor is held
  (nothing dated can be computed); an open contract (no end yet) is held.

Rules anchored on ``purpose_end`` ("as long as the purpose needs") give no date and never extend
the dated rules (``domain.retention``). A legal hold pauses every step for what it covers
(``domain.legal_holds``); holds are applied by the store, not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from carprivacy.domain.policy import ExpiryAction, Form, Policy, RetentionAnchor, RetentionRule
from carprivacy.domain.retention import (
    SECTION_B_MINIMUM,
    ExpiredAnchors,
    add_period,
    expired_anchors,
    plan_for,
    rule_expired_anchors,
)
from carprivacy.domain.telemetry import collection_purposes

SECTION_B_RULE = "section_b_four_weeks"  # the notice's 4-week minimum of section B, no own rule
STAMPED_UNKNOWN_RULE = "stamped_expiry"  # a stamp no current rule explains (the policy changed)
QUARANTINE_RULE = "quarantine_four_weeks"  # refused records are kept 4 weeks (ingestion)

_R = TypeVar("_R", RetentionRule, str)


class RetentionTable(StrEnum):
    TELEMETRY = "telemetry"
    QUARANTINE = "telemetry_quarantine"
    CONTRACTS = "contracts"
    PAYMENTS = "payment_transactions"


class StepKind(StrEnum):
    STAMPED = "stamped"
    END_OF_LIFE = "end_of_life"
    IDENTIFIED_END = "identified_end"
    ANCHORED = "anchored"


# the master record kinds, their category and the anchors they record
MASTER_TABLES: dict[RetentionTable, tuple[str, frozenset[RetentionAnchor]]] = {
    RetentionTable.CONTRACTS: (
        "contract",
        frozenset({RetentionAnchor.CONTRACT_END, RetentionAnchor.COLLECTED}),
    ),
    RetentionTable.PAYMENTS: (
        "financial_transactions",
        frozenset({RetentionAnchor.TRANSACTION_DATE, RetentionAnchor.COLLECTED}),
    ),
}


@dataclass(frozen=True)
class RetentionStep:
    """One selection of expired data (bounds inclusive).

    - ``stamped``: ``expires_at <= now`` (``category`` None: every category).
    - ``end_of_life``: ``expires_at`` NULL, ``category``, ``ts`` in ``ts_expired`` (None: no
      dated rule of its own), vehicle ``end_of_life <= end_of_life_cutoff``.
    - ``identified_end``: ``subject_id`` set, ``category``, ``ts`` in ``ts_expired``, not expired
      (``expires_at`` NULL or after ``now``) and not selected by ``excluded`` (the category's
      ``end_of_life`` step).
    - ``anchored``: for every ``(anchor, expired)`` of ``anchors`` the record's anchor is known
      and in ``expired``.
    """

    kind: StepKind
    table: RetentionTable
    now: datetime
    category: str | None = None
    rule: str = ""  # the rule reported; "" for ``stamped`` telemetry: decided per row
    action: ExpiryAction = ExpiryAction.DELETE
    ts_expired: ExpiredAnchors | None = None
    end_of_life_cutoff: date | None = None
    anchors: tuple[tuple[RetentionAnchor, ExpiredAnchors], ...] = ()
    excluded: RetentionStep | None = None
    # ``stamped`` telemetry: the categories whose rule needs the collection time (a store
    # reads ``ts`` for these only)
    calendar_categories: frozenset[str] = frozenset()

    @property
    def label(self) -> str:
        return f"{self.table.value} {self.kind.value}" + (
            f" {self.category}" if self.category else ""
        )


def _dated(rule: RetentionRule) -> bool:
    return not rule.is_open_ended


def _all_of(rules: list[tuple[_R, ExpiredAnchors]]) -> tuple[_R, ExpiredAnchors]:
    """Several rules that must all run out: the binding one (the latest to) and the anchors
    expired under every one."""
    binding = min(rules, key=lambda pair: pair[1].latest)[0]
    expired = rules[0][1]
    for _rule, more in rules[1:]:
        expired = expired.intersect(more)
    return binding, expired


def _ts_rules(
    per_purpose: tuple[tuple[str, tuple[RetentionRule, ...], bool], ...], now: datetime
) -> list[tuple[str, ExpiredAnchors]]:
    """Every collection-anchored dated rule and section B minimum, with the collection times
    expired under it."""
    found: list[tuple[str, ExpiredAnchors]] = []
    for _purpose, rules, section_b in per_purpose:
        for rule in rules:
            if rule.anchor is RetentionAnchor.COLLECTED and _dated(rule):
                found.append((rule.id, rule_expired_anchors(rule, now)))
        if section_b:
            found.append((SECTION_B_RULE, expired_anchors(now, weeks=4)))
    return found


def _event_anchored(
    per_purpose: tuple[tuple[str, tuple[RetentionRule, ...], bool], ...],
) -> set[RetentionAnchor]:
    return {
        rule.anchor
        for _p, rules, _b in per_purpose
        for rule in rules
        if rule.anchor not in (RetentionAnchor.COLLECTED, RetentionAnchor.PURPOSE_END)
    }


def end_of_life_step(policy: Policy, category: str, now: datetime) -> RetentionStep | None:
    plan = plan_for(policy, category, collection_purposes(policy, category))
    if _event_anchored(plan.per_purpose) != {RetentionAnchor.VEHICLE_END_OF_LIFE}:
        return None  # no end-of-life rule, or another event not known to telemetry holds it
    life = [
        (rule, rule_expired_anchors(rule, now))
        for _p, rules, _b in plan.per_purpose
        for rule in rules
        if rule.anchor is RetentionAnchor.VEHICLE_END_OF_LIFE
    ]
    rule, expired = _all_of(life)
    if rule.action is ExpiryAction.ANONYMISE:
        return None  # anonymised at the end of life, nothing would ever end it: kept, as is
    ts_rules = _ts_rules(plan.per_purpose, now)
    return RetentionStep(
        StepKind.END_OF_LIFE,
        RetentionTable.TELEMETRY,
        now,
        category=category,
        rule=rule.id,
        action=rule.action,
        ts_expired=_all_of(ts_rules)[1] if ts_rules else None,
        # the end of life is a date, taken as its first moment (UTC), as ingestion does
        end_of_life_cutoff=expired.latest_date(),
    )


def identified_end_step(
    policy: Policy, category: str, now: datetime, excluded: RetentionStep | None
) -> RetentionStep | None:
    purposes = collection_purposes(policy, category)
    forms = {p.id: p.form for p in policy.purposes if p.id in purposes}
    identified = [p for p in purposes if forms[p] is Form.IDENTIFIED]
    others = [p for p in purposes if forms[p] is not Form.IDENTIFIED]
    if not identified or not others:
        return None
    own = plan_for(policy, category, identified)
    if _event_anchored(own.per_purpose):
        return None  # the identified form itself is held until an event
    ts_rules = _ts_rules(own.per_purpose, now)
    rest = plan_for(policy, category, others)
    keeps = any(
        rule.anchor is not RetentionAnchor.PURPOSE_END
        and _dated(rule)
        or rule.anchor not in (RetentionAnchor.COLLECTED, RetentionAnchor.PURPOSE_END)
        for _p, rules, _b in rest.per_purpose
        for rule in rules
    )
    if not ts_rules or not keeps:
        return None  # nothing dates the identified form, or nothing keeps the data after it
    rule_id, expired = _all_of(ts_rules)
    return RetentionStep(
        StepKind.IDENTIFIED_END,
        RetentionTable.TELEMETRY,
        now,
        category=category,
        rule=rule_id,
        action=ExpiryAction.ANONYMISE,
        ts_expired=expired,
        excluded=excluded,
    )


def anchored_step(policy: Policy, table: RetentionTable, now: datetime) -> RetentionStep | None:
    category, recorded = MASTER_TABLES[table]
    purposes = [p.id for p in policy.purposes_using(category)]
    plan = plan_for(policy, category, purposes)
    per_anchor: dict[RetentionAnchor, list[tuple[RetentionRule, ExpiredAnchors]]] = {}
    for _p, rules, _b in plan.per_purpose:
        for rule in rules:
            if rule.anchor is RetentionAnchor.PURPOSE_END or (
                rule.anchor is RetentionAnchor.COLLECTED and not _dated(rule)
            ):
                continue  # "as long as needed": no date of its own
            if rule.anchor not in recorded:
                return None  # held until an event this record kind does not record
            per_anchor.setdefault(rule.anchor, []).append((rule, rule_expired_anchors(rule, now)))
    if not per_anchor:
        return None
    binding = {anchor: _all_of(pairs) for anchor, pairs in per_anchor.items()}
    rule, _expired = min(binding.values(), key=lambda pair: pair[1].latest)
    if rule.action is ExpiryAction.ANONYMISE:
        return None  # master records are deleted; their anonymous form is the aggregates
    return RetentionStep(
        StepKind.ANCHORED,
        table,
        now,
        category=category,
        rule=rule.id,
        action=rule.action,
        anchors=tuple((a, binding[a][1]) for a in sorted(binding, key=lambda a: a.value)),
    )


def retention_steps(
    policy: Policy, now: datetime, telemetry_categories: tuple[str, ...] | None = None
) -> list[RetentionStep]:
    """Every step of a run at ``now`` (UTC), in the order a run takes them."""
    categories = telemetry_categories or tuple(c.id for c in policy.categories)
    steps = [
        RetentionStep(
            StepKind.STAMPED,
            RetentionTable.TELEMETRY,
            now,
            calendar_categories=calendar_categories(policy),
        ),
        RetentionStep(StepKind.STAMPED, RetentionTable.QUARANTINE, now, rule=QUARANTINE_RULE),
    ]
    life: dict[str, RetentionStep] = {}
    for category in categories:
        step = end_of_life_step(policy, category, now)
        if step is not None:
            life[category] = step
            steps.append(step)
    for category in categories:
        step = identified_end_step(policy, category, now, life.get(category))
        if step is not None:
            steps.append(step)
    for table in MASTER_TABLES:
        step = anchored_step(policy, table, now)
        if step is not None:
            steps.append(step)
    return steps


class StampedRules:
    """Which rule gave a stored ``expires_at``: recomputed from the row's category, purposes and
    the stamp's distance from the collection time (``span``), with the same plan as ingestion,
    and that rule's action.

    A dated rule from collection whose date equals the stamp decided; otherwise a rule anchored
    on an event (the vehicle's end of life, known when the row was stored) did. A stamp no rule
    explains (the policy changed since) is reported as :data:`STAMPED_UNKNOWN_RULE`, deleted.
    Without month or year rules from collection the span alone decides (cached); with them the
    collection time is needed too (``calendar_categories``)."""

    _ANY_TIME = datetime(5000, 1, 1, tzinfo=UTC)  # room for any span either way

    def __init__(self, policy: Policy) -> None:
        self._policy = policy
        self._cache: dict[tuple[str, tuple[str, ...], timedelta], tuple[str, ExpiryAction]] = {}
        self.calendar_categories = calendar_categories(policy)

    def rule_for(
        self,
        category: str,
        purposes: tuple[str, ...],
        span: timedelta,
        ts: datetime | None = None,
    ) -> tuple[str, ExpiryAction]:
        if category in self.calendar_categories:
            if ts is None:
                raise ValueError(f"{category}: a calendar rule needs the collection time")
            return self._decide(category, purposes, ts, ts + span)
        key = (category, purposes, span)
        found = self._cache.get(key)
        if found is None:
            anchor = ts or self._ANY_TIME
            try:
                stamp: datetime | None = anchor + span
            except OverflowError:  # thousands of years: no rule from collection gives that
                stamp = None
            found = self._decide(category, purposes, anchor, stamp)
            if len(self._cache) < 100_000:
                self._cache[key] = found
        return found

    def _decide(
        self, category: str, purposes: tuple[str, ...], ts: datetime, expires_at: datetime | None
    ) -> tuple[str, ExpiryAction]:
        plan = plan_for(self._policy, category, purposes)
        event: RetentionRule | None = None
        for _p, rules, section_b in plan.per_purpose:
            for rule in rules:
                if rule.anchor is RetentionAnchor.COLLECTED and _dated(rule):
                    end = add_period(
                        ts, years=rule.years, months=rule.months, weeks=rule.weeks, days=rule.days
                    )
                    if end == expires_at:
                        return rule.id, rule.action
                elif rule.anchor not in (RetentionAnchor.COLLECTED, RetentionAnchor.PURPOSE_END):
                    event = event or rule
            if section_b and ts + SECTION_B_MINIMUM == expires_at:
                dated = [r for r in rules if r.anchor is RetentionAnchor.COLLECTED and _dated(r)]
                return (
                    (dated[0].id, dated[0].action)
                    if dated
                    else (SECTION_B_RULE, ExpiryAction.DELETE)
                )
        if event is not None:
            return event.id, event.action
        return STAMPED_UNKNOWN_RULE, ExpiryAction.DELETE


def calendar_categories(policy: Policy) -> frozenset[str]:
    """Categories with a month or year rule from collection: their stamps' rule depends on the
    collection time, not only on the distance to the stamp."""
    return frozenset(
        r.category
        for r in policy.retention
        if r.anchor is RetentionAnchor.COLLECTED and (r.years or r.months)
    )
