"""The retention run on SQLite and PostgreSQL (SPEC L1, L2, P4): the scenario's rows end as the
oracle says (expired gone, unexpired kept, boundaries to the microsecond, month ends, the end of
life, holds), the same as on the in-memory fake; a dry run changes no byte of any table; every
run is recorded and audited; a batch that fails leaves nothing half-written and the next run
finishes; the run lock refuses a second run; legal holds survive their release as records."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from tests.retention_scenario import Fate, Scenario, build, kept_contracts, kept_payments, oracle

from carprivacy.adapters.db.repositories.access import SqlAuditLogRepository
from carprivacy.adapters.db.repositories.retention import (
    SqlLegalHoldRepository,
    SqlRetentionStore,
)
from carprivacy.adapters.db.repositories.telemetry import SqlTelemetryRepository
from carprivacy.adapters.db.tables.master import (
    contracts,
    customers,
    payment_transactions,
    vehicles,
)
from carprivacy.adapters.db.tables.telemetry import telemetry
from carprivacy.bootstrap import policy_documents
from carprivacy.domain.errors import RetentionRunInProgressError
from carprivacy.domain.policy import Policy
from carprivacy.domain.retention_run import RunStatus
from carprivacy.services.audit.trail import AuditService
from carprivacy.services.retention.holds import LegalHoldService
from carprivacy.services.retention.run import RetentionService
from carprivacy.testing import FakeCheckpointSigner, FakeClock, InMemoryAuditWitness

NOW = datetime(2025, 2, 28, 12, tzinfo=UTC)
POLICY: Policy = policy_documents().load(Path("policies/mini-connected-nl.yaml"))


def _load(engine: Engine, s: Scenario) -> None:
    at = NOW - timedelta(days=5000)
    with engine.begin() as conn:
        for customer in ("cust-a", "cust-b", "cust-held"):
            blob = b"sealed"
            conn.execute(
                customers.insert().values(
                    id=customer,
                    surname=blob,
                    first_name=blob,
                    street=blob,
                    house_number=blob,
                    postal_code=blob,
                    city=blob,
                    country=blob,
                    created_at=at,
                    updated_at=at,
                )
            )
        for v in s.vehicles:
            conn.execute(
                vehicles.insert().values(
                    id=v.id,
                    vin=v.vin,
                    model=v.model,
                    colour=v.colour,
                    equipment=[],
                    end_of_life=v.end_of_life,
                    created_at=at,
                    updated_at=at,
                )
            )
        for c in s.contracts:
            conn.execute(
                contracts.insert().values(
                    id=c.id,
                    customer_id=c.customer_id,
                    vehicle_id=c.vehicle_id,
                    starts_at=c.start.astimezone(UTC),
                    ends_at=None if c.end is None else c.end.astimezone(UTC),
                    services=list(c.services),
                    created_at=c.created_at.astimezone(UTC),
                    updated_at=c.updated_at.astimezone(UTC),
                )
            )
        for p in s.payments:
            conn.execute(
                payment_transactions.insert().values(
                    id=p.id,
                    customer_id=p.customer_id,
                    contract_id=p.contract_id,
                    amount_minor=p.amount_minor,
                    currency=p.currency,
                    booked_at=p.booked_at.astimezone(UTC),
                    method_kind=p.method.kind.value,
                    method_details=b"sealed",
                    created_at=p.created_at.astimezone(UTC),
                )
            )
    SqlTelemetryRepository(engine).store(s.rows, [])
    holds = SqlLegalHoldRepository(engine)
    for h in s.holds:
        holds.add(h)
        if h.released_at is not None:
            holds.release(h.id, h.released_at, h.released_by or "", h.release_reason or "")


def _services(engine: Engine, batch: int = 50) -> tuple[RetentionService, LegalHoldService, Any]:
    clock = FakeClock(NOW)
    log = SqlAuditLogRepository(engine)
    audit = AuditService(
        log, FakeCheckpointSigner(), b"k" * 32, clock, witness=InMemoryAuditWitness()
    )
    store = SqlRetentionStore(engine)
    service = RetentionService(POLICY, store, audit, clock, batch_size=batch)
    return service, LegalHoldService(POLICY, SqlLegalHoldRepository(engine), audit, clock), log


def _fates(engine: Engine, s: Scenario) -> dict[tuple[str, str], Fate]:
    t = telemetry.c
    with engine.connect() as conn:
        left = {
            (m.vehicle_id, m.signal): m
            for m in conn.execute(select(t.vehicle_id, t.signal, t.subject_id, t.key_owner))
        }
    fates = {}
    for r in s.rows:
        m = left.get((r.vehicle_id, r.signal))
        if m is None:
            fates[(r.vehicle_id, r.signal)] = Fate.DELETED
        elif m.subject_id is None and r.subject_id is not None:
            assert m.key_owner == f"vehicle:{r.vehicle_id}"
            fates[(r.vehicle_id, r.signal)] = Fate.ANONYMISED
        else:
            assert (m.subject_id, m.key_owner) == (r.subject_id, r.key_owner)
            fates[(r.vehicle_id, r.signal)] = Fate.KEPT
    return fates


def _ids(engine: Engine, table: Any) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(table.c.id)).scalars())


def _dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, for a byte-for-byte comparison."""
    from carprivacy.adapters.db.base import metadata

    out = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            rows = conn.execute(select(table)).all()
            out[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return out


def test_a_run_removes_exactly_what_has_expired(engine: Engine) -> None:
    s = build(POLICY, NOW)
    _load(engine, s)
    service, _holds, _log = _services(engine)

    report = service.run()

    assert _fates(engine, s) == oracle(POLICY, s)
    assert _ids(engine, contracts) == kept_contracts(s)
    assert _ids(engine, payment_transactions) == kept_payments(s)
    with engine.connect() as conn:
        link = conn.execute(
            select(payment_transactions.c.contract_id).where(
                payment_transactions.c.id == "pay-cust-a-3"
            )
        ).scalar_one()
    assert link is None  # its contract expired; the transaction stays for its 10 years
    assert report.total > 0 and service.run().total == 0  # idempotent


def test_the_sql_store_and_the_fake_agree(engine: Engine) -> None:
    """Same scenario, same counts per table, category, rule and action."""
    from carprivacy.testing import InMemoryStores, bootstrap_in_memory

    s = build(POLICY, NOW, seed=11)
    _load(engine, s)
    service, _holds, _log = _services(engine)
    stores = InMemoryStores()
    for v in s.vehicles:
        stores.master.vehicles[v.id] = v
    stores.telemetry.store(s.rows, [])
    stores.master.contracts.update({c.id: c for c in s.contracts})
    stores.master.payments.update({p.id: p for p in s.payments})
    for h in s.holds:
        stores.legal_holds.add(h)
    fake = bootstrap_in_memory(policy=POLICY, clock=FakeClock(NOW), stores=stores)
    assert service.run().counts == fake.retention.run().counts


def test_a_dry_run_changes_nothing(engine: Engine) -> None:
    s = build(POLICY, NOW)
    _load(engine, s)
    service, _holds, _log = _services(engine)
    before = _dump(engine)
    dry = service.run(dry_run=True)
    assert _dump(engine) == before
    assert dry.total > 0
    assert service.run().counts == dry.counts


def test_every_run_is_recorded_and_audited(engine: Engine) -> None:
    s = build(POLICY, NOW)
    _load(engine, s)
    service, _holds, log = _services(engine)
    report = service.run()
    (run,) = service.runs()
    assert run.id == report.run_id and run.status is RunStatus.COMPLETED
    assert Counter(dict(run.counts)) == report.counts
    entries = [e for e in log.iter_entries() if e.caller_id == "system:retention"]
    assert len(entries) == len(report.counts) + 1
    for e in entries:
        assert e.subject_ref == "" and "cust-" not in repr(e) and "veh-" not in repr(e)
    assert {e.rule for e in entries} >= {"contract_after_end", "retention.run.completed"}


class _FailingStore(SqlRetentionStore):
    """Fails the third batch inside its transaction, after its deletes and updates ran."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.calls = 0

    def _record(self, conn: Any, run_id: str, counts: Any, at: datetime) -> None:
        self.calls += 1
        if self.calls == 3:
            raise ConnectionError("killed mid-batch")
        super()._record(conn, run_id, counts, at)


def _changed(engine: Engine, s: Scenario) -> int:
    """Telemetry rows deleted or anonymised, contracts and transactions deleted."""
    fates = _fates(engine, s)
    return (
        sum(1 for f in fates.values() if f is not Fate.KEPT)
        + len(s.contracts)
        - len(_ids(engine, contracts))
        + len(s.payments)
        - len(_ids(engine, payment_transactions))
    )


def test_a_failed_batch_leaves_nothing_half_written(engine: Engine) -> None:
    """L2: a batch whose transaction fails after its changes ran is rolled back whole: what the
    database changed is exactly what the run record says it committed; the next run closes the
    broken run as interrupted and ends as a clean run would."""
    s = build(POLICY, NOW)
    _load(engine, s)
    service, _holds, _log = _services(engine, batch=9)
    service.store = _FailingStore(engine)
    with pytest.raises(ConnectionError):
        service.run()
    (broken,) = service.runs()
    assert broken.status is RunStatus.RUNNING and broken.total == 2 * 9
    assert _changed(engine, s) == 2 * 9  # the third batch left no trace
    service.store = SqlRetentionStore(engine)
    rerun = service.run()
    assert rerun.interrupted == (broken.id,)
    assert _fates(engine, s) == oracle(POLICY, s)
    assert _ids(engine, contracts) == kept_contracts(s)
    statuses = {r.id: r.status for r in service.runs()}
    assert statuses[broken.id] is RunStatus.INTERRUPTED
    assert broken.total + rerun.total == _changed(engine, s)


def test_one_run_at_a_time(engine: Engine) -> None:
    service, _holds, _log = _services(engine)
    other = SqlRetentionStore(engine)
    with other.run_lock(), pytest.raises(RetentionRunInProgressError):
        service.run()
    assert service.run().total == 0  # released: the next one runs


def test_holds_are_kept_as_records(engine: Engine) -> None:
    _service, holds, log = _services(engine)
    hold = holds.place(
        subject_id="cust-a", vehicle_id=None, category="contract", reason="claim", created_by="dpo"
    )
    assert [h.id for h in holds.list()] == [hold.id]
    released = holds.release(hold.id, released_by="dpo", reason="settled")
    assert holds.list() == []
    assert holds.list(active_only=False) == [released]
    assert released.released_by == "dpo" and released.release_reason == "settled"
    rules = [e.rule for e in log.iter_entries()]
    assert rules == ["legal_hold.placed", "legal_hold.released"]
    # the subject is a keyed pseudonym in the audit log, never the id
    assert all("cust-a" not in repr(e) for e in log.iter_entries())
