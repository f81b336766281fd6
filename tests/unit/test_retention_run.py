"""The retention run on the in-memory stores (SPEC L1, L2, P4): expired rows gone, unexpired kept,
boundaries exact, identified vehicle data made vehicle-linked after 4 weeks, legal holds pause
it, a dry run changes nothing and reports the same counts, every run is audited, and a run that
fails part-way leaves whole batches and is finished by the next one."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.retention_scenario import (
    CATEGORIES,
    Fate,
    Scenario,
    build,
    kept_contracts,
    kept_payments,
    oracle,
)

from carprivacy.bootstrap import Services, policy_documents
from carprivacy.domain.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    RetentionRunInProgressError,
)
from carprivacy.domain.policy import ExpiryAction, Policy
from carprivacy.domain.retention_run import RunStatus
from carprivacy.domain.retention_steps import StampedRules, retention_steps
from carprivacy.domain.telemetry import collection_purposes
from carprivacy.services.ingestion.expiry import Expiries
from carprivacy.testing import FakeClock, InMemoryStores, bootstrap_in_memory

NOW = datetime(2025, 2, 28, 12, tzinfo=UTC)  # a month end after a leap day
POLICY: Policy = policy_documents().load(Path("policies/mini-connected-nl.yaml"))


def _load(s: Scenario, clock: FakeClock | None = None) -> tuple[Services, InMemoryStores]:
    stores = InMemoryStores()
    for v in s.vehicles:
        stores.master.vehicles[v.id] = v
    stores.telemetry.store(s.rows, [])
    for c in s.contracts:
        stores.master.contracts[c.id] = c
    for p in s.payments:
        stores.master.payments[p.id] = p
    for h in s.holds:
        stores.legal_holds.add(h)
    services = bootstrap_in_memory(policy=POLICY, clock=clock or FakeClock(NOW), stores=stores)
    return services, stores


def _fates(stores: InMemoryStores, s: Scenario) -> dict[tuple[str, str], Fate]:
    left = {(r.vehicle_id, r.signal): r for r in stores.telemetry.rows.values()}
    fates = {}
    for r in s.rows:
        now = left.get((r.vehicle_id, r.signal))
        if now is None:
            fates[(r.vehicle_id, r.signal)] = Fate.DELETED
        elif now.subject_id is None and r.subject_id is not None:
            assert now.key_owner == f"vehicle:{r.vehicle_id}"
            fates[(r.vehicle_id, r.signal)] = Fate.ANONYMISED
        else:
            assert now == r
            fates[(r.vehicle_id, r.signal)] = Fate.KEPT
    return fates


def test_a_run_removes_exactly_what_has_expired() -> None:
    """L1, P4: every row, contract and transaction ends as the oracle says (boundaries at the
    microsecond, month ends, the end of life reached today, holds)."""
    s = build(POLICY, NOW)
    services, stores = _load(s)
    expected = oracle(POLICY, s)
    assert set(expected.values()) == set(Fate)  # the scenario exercises every fate

    report = services.retention.run()

    assert _fates(stores, s) == expected
    assert set(stores.master.contracts) == kept_contracts(s)
    assert set(stores.master.payments) == kept_payments(s)
    # the leap-day contract expired on 28 February, the one an hour later did not
    assert {"ctr-cust-a-5"} - set(stores.master.contracts) == {"ctr-cust-a-5"}
    assert "ctr-cust-a-6" in stores.master.contracts
    # a transaction outlives its contract: the link is dropped, the transaction kept
    assert stores.master.payments["pay-cust-a-3"].contract_id is None
    removed = sum(1 for f in expected.values() if f is not Fate.KEPT)
    removed += len(s.contracts) - len(kept_contracts(s)) + len(s.payments) - len(kept_payments(s))
    assert report.total == removed


def test_counts_name_the_rule_and_category() -> None:
    s = build(POLICY, NOW)
    services, _stores = _load(s)
    report = services.retention.run()
    rules = {(k.table, k.category, k.rule, k.action) for k in report.counts}
    assert ("contracts", "contract", "contract_after_end", ExpiryAction.DELETE) in rules
    assert (
        "payment_transactions",
        "financial_transactions",
        "financial_ten_years",
        ExpiryAction.DELETE,
    ) in rules
    assert (
        "telemetry",
        "vehicle_status",
        "vehicle_status_four_weeks",
        ExpiryAction.ANONYMISE,
    ) in rules
    assert (
        "telemetry",
        "position_movement",
        "position_movement_four_weeks",
        ExpiryAction.DELETE,
    ) in rules
    assert (
        "telemetry",
        "vehicle_general",
        "vehicle_general_end_of_life",
        ExpiryAction.DELETE,
    ) in rules
    by_category = report.by_category()
    assert sum(by_category.values()) == report.total


def test_a_second_run_removes_nothing() -> None:
    """L2: idempotent."""
    s = build(POLICY, NOW)
    services, stores = _load(s)
    services.retention.run()
    before = dict(stores.telemetry.rows), dict(stores.master.contracts)
    again = services.retention.run()
    assert again.total == 0
    assert (dict(stores.telemetry.rows), dict(stores.master.contracts)) == before


def test_a_dry_run_changes_nothing_and_counts_the_same() -> None:
    s = build(POLICY, NOW)
    services, stores = _load(s)
    rows, contracts = dict(stores.telemetry.rows), dict(stores.master.contracts)
    payments, audit = dict(stores.master.payments), len(stores.audit_log.entries)

    dry = services.retention.run(dry_run=True)

    assert dry.run_id is None and dry.dry_run
    assert dict(stores.telemetry.rows) == rows
    assert dict(stores.master.contracts) == contracts
    assert dict(stores.master.payments) == payments
    assert len(stores.audit_log.entries) == audit  # nothing recorded
    assert services.retention.runs() == []
    real = services.retention.run()
    assert real.counts == dry.counts


def test_every_run_is_audited_with_counts_and_no_personal_data() -> None:
    s = build(POLICY, NOW)
    services, stores = _load(s)
    report = services.retention.run()
    entries = [e for e in stores.audit_log.entries if e.caller_id == "system:retention"]
    per_rule = [e for e in entries if e.action.startswith("retention.") and "run " not in e.action]
    summary = [e for e in entries if e.rule == "retention.run.completed"]
    assert len(summary) == 1 and f"rows={report.total}" in summary[0].action
    assert len(per_rule) == len(report.counts)
    for e in per_rule:
        assert e.subject_ref == "" and e.vehicle_ref == ""
        assert report.run_id in e.action
    for e in entries:  # no subject, vehicle or VIN anywhere
        text = repr(e)
        assert "cust-" not in text and "veh-" not in text
    (run,) = services.retention.runs()
    assert run.status is RunStatus.COMPLETED
    assert dict(run.counts) == dict(report.counts)


def test_a_hold_pauses_and_its_release_resumes() -> None:
    s = build(POLICY, NOW)
    s.holds = []
    services, stores = _load(s)
    hold = services.legal_holds.place(
        subject_id="cust-a", vehicle_id=None, category=None, reason="legal claims", created_by="dpo"
    )
    services.retention.run()
    assert any(r.subject_id == "cust-a" for r in s.rows)
    for r in s.rows:
        if r.subject_id == "cust-a":
            assert stores.telemetry.rows[(r.vehicle_id, r.signal, r.ts, r.source)] == r
    assert {c.id for c in s.contracts if c.customer_id == "cust-a"} <= set(stores.master.contracts)
    services.legal_holds.release(hold.id, released_by="dpo", reason="settled")
    services.retention.run()
    assert _fates(stores, s) == oracle(POLICY, s)
    with pytest.raises(ConflictError):
        services.legal_holds.release(hold.id, released_by="dpo", reason="again")
    with pytest.raises(NotFoundError):
        services.legal_holds.release("nope", released_by="dpo", reason="x")
    rules = [e.rule for e in stores.audit_log.entries]
    assert "legal_hold.placed" in rules and "legal_hold.released" in rules


@pytest.mark.parametrize(
    ("fields", "rule"),
    [
        ({"subject_id": None, "vehicle_id": None}, "legal_hold.scope"),
        ({"category": "no_such_category"}, "legal_hold.category"),
        ({"reason": "  "}, "legal_hold.required"),
        ({"created_by": ""}, "legal_hold.required"),
        ({"reason": "x" * 501}, "legal_hold.max_length"),
    ],
)
def test_a_hold_without_scope_reason_or_author_is_refused(
    fields: dict[str, str | None], rule: str
) -> None:
    services, stores = _load(Scenario(NOW))
    kwargs: dict[str, str | None] = {
        "subject_id": "cust-a",
        "vehicle_id": None,
        "category": None,
        "reason": "claims",
        "created_by": "dpo",
    }
    kwargs.update(fields)
    with pytest.raises(InvalidInputError) as refused:
        services.legal_holds.place(**kwargs)  # type: ignore[arg-type]
    assert rule in {p.rule for p in refused.value.problems}
    assert stores.legal_holds.list(active_only=False) == []


def test_a_run_that_fails_part_way_is_finished_by_the_next() -> None:
    """L2: a failure after some batches leaves those batches whole and recorded; the next run
    closes the broken one as interrupted and ends in the same state as one clean run."""
    s = build(POLICY, NOW)
    clean_services, clean_stores = _load(s)
    clean = clean_services.retention.run()

    services, stores = _load(s)
    services.retention.batch_size = 7
    calls = {"n": 0}
    apply = stores_apply = services.retention.store.apply

    def failing(*args: object, **kwargs: object) -> None:
        calls["n"] += 1
        if calls["n"] == 4:
            raise ConnectionError("killed")
        stores_apply(*args, **kwargs)  # type: ignore[arg-type]

    services.retention.store.apply = failing  # type: ignore[method-assign]
    with pytest.raises(ConnectionError):
        services.retention.run()
    (broken,) = services.retention.runs()
    assert broken.status is RunStatus.RUNNING and broken.total == 3 * 7
    services.retention.store.apply = apply  # type: ignore[method-assign]

    rerun = services.retention.run()

    assert rerun.interrupted == (broken.id,)
    assert _fates(stores, s) == _fates(clean_stores, s)
    assert set(stores.master.contracts) == set(clean_stores.master.contracts)
    closed = next(r for r in services.retention.runs() if r.id == broken.id)
    assert closed.status is RunStatus.INTERRUPTED
    assert Counter(dict(closed.counts)) + rerun.counts == clean.counts
    assert any(e.rule == "retention.run.interrupted" for e in stores.audit_log.entries)


def test_one_run_at_a_time() -> None:
    services, _stores = _load(Scenario(NOW))
    with (
        services.retention.store.run_lock(),
        pytest.raises(RetentionRunInProgressError) as refused,
    ):
        services.retention.run()
    assert refused.value.requirement == "L2"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(0, 10_000),
    st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31)),
)
def test_any_moment_agrees_with_the_oracle(seed: int, now: datetime) -> None:
    """L1: for random rows around the boundaries and any moment, the run leaves what the oracle
    says, and the dry run before it counted the same."""
    s = build(POLICY, now.replace(tzinfo=UTC), seed=seed, rows=80)
    services, stores = _load(s, FakeClock(s.now))
    dry = services.retention.run(dry_run=True)
    report = services.retention.run()
    assert _fates(stores, s) == oracle(POLICY, s)
    assert set(stores.master.contracts) == kept_contracts(s)
    assert set(stores.master.payments) == kept_payments(s)
    assert dry.counts == report.counts


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(CATEGORIES),
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)),
    st.one_of(st.none(), st.dates()),
)
def test_the_rule_named_for_a_stamp_gives_that_stamp(
    category: str, ts: datetime, end_of_life: object
) -> None:
    """The rule reported for a stamped row is the one whose date is the stamp."""
    ts = ts.replace(tzinfo=UTC)
    stamp = Expiries(POLICY, CATEGORIES).expires_at(category, end_of_life, ts)  # type: ignore[arg-type]
    if stamp is None:
        return
    rule_id, _action = StampedRules(POLICY).rule_for(
        category, collection_purposes(POLICY, category), stamp - ts, ts
    )
    rule = next((r for r in POLICY.retention if r.id == rule_id), None)
    assert rule is not None and rule.category == category
    if rule.anchor.value == "collected":
        assert ts + timedelta(weeks=rule.weeks, days=rule.days) == stamp
    else:
        assert rule.anchor.value == "vehicle_end_of_life"


def test_the_steps_of_the_shipped_policy() -> None:
    steps = {
        (s.kind.value, s.table.value, s.category, s.rule) for s in retention_steps(POLICY, NOW)
    }
    assert ("identified_end", "telemetry", "vehicle_status", "vehicle_status_four_weeks") in steps
    assert ("end_of_life", "telemetry", "vehicle_general", "vehicle_general_end_of_life") in steps
    assert ("anchored", "contracts", "contract", "contract_after_end") in steps
    assert (
        "anchored",
        "payment_transactions",
        "financial_transactions",
        "financial_ten_years",
    ) in steps
    # position data has no vehicle-linked purpose that keeps it: deleted at 4 weeks, not masked
    assert not any(s[0] == "identified_end" and s[2] == "position_movement" for s in steps)
