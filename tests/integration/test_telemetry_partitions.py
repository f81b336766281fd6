"""Telemetry partitioned by week on PostgreSQL (SPEC L1, L2; adapters/db/partitions.py): the
migration keeps every row and its id, weeks are created ahead, a value of a week not created
goes to the default partition, and the retention run drops a week whose values have all
expired (none held, every rule deleting) instead of deleting its rows, with the same end state
and the same counts as the row-by-row run. SQLite is one table: nothing of this applies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from tests.integration.test_retention_store import NOW, POLICY, _fates, _load, _services
from tests.retention_scenario import build, oracle

from carprivacy.adapters.db import migrate, partitions
from carprivacy.adapters.db.repositories.telemetry import SqlTelemetryRepository
from carprivacy.adapters.db.tables.telemetry import telemetry
from carprivacy.domain.telemetry import TelemetryRow


def _pg(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite keeps telemetry in one table")


def _row(vehicle: str, ts: datetime, expires: datetime | None, n: int = 0) -> TelemetryRow:
    return TelemetryRow(
        vehicle, "cust-a", None, "subject:cust-a", f"Vehicle.Sig{n}", "traffic_info", None,
        str(n), None, ts, ts, "http",
        ("contract_performance", "product_development", "anonymised_third_parties"), expires,
    )  # fmt: skip


def _rows_per_table(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT tableoid::regclass::text, count(*) FROM telemetry GROUP BY 1")
        ).all()
    return {name.split(".")[-1]: int(n) for name, n in found}


def test_sqlite_is_not_partitioned(empty_engine: Engine) -> None:
    if empty_engine.dialect.name != "sqlite":
        pytest.skip("the SQLite side")
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as conn:
        assert not partitions.partitioned(conn)
        assert partitions.ensure_weeks(conn, datetime.now(UTC)) == []


def test_the_migration_keeps_every_row_and_its_id(empty_engine: Engine) -> None:
    _pg(empty_engine)
    migrate.upgrade(empty_engine, "0016_cardata")
    now = datetime.now(UTC)
    rows = [_row("veh-1", now - timedelta(days=d), None, d) for d in (0, 3, 10, 40, 900)]
    SqlTelemetryRepository(empty_engine).store(rows, [])
    with empty_engine.connect() as conn:
        before = sorted(conn.execute(select(telemetry.c.id, telemetry.c.ts, telemetry.c.value)))
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as conn:
        assert partitions.partitioned(conn)
        after = sorted(conn.execute(select(telemetry.c.id, telemetry.c.ts, telemetry.c.value)))
        names = {w.name for w in partitions.weeks(conn)}
    assert after == before
    placed = _rows_per_table(empty_engine)
    # two years back have weeks; the value of 900 days ago lies in the default partition
    assert placed.pop(partitions.DEFAULT) == 1
    assert set(placed) <= names and sum(placed.values()) == 4
    assert partitions.week_of(now + 8 * partitions.WEEK).name in names  # weeks ahead
    SqlTelemetryRepository(empty_engine).store([_row("veh-1", now, None, 99)], [])
    with empty_engine.connect() as conn:
        newest = conn.execute(select(telemetry.c.id).order_by(telemetry.c.id.desc())).first()
    assert newest is not None and newest[0] > max(r[0] for r in before)  # the sequence goes on


def test_weeks_ahead_and_a_week_with_strays_is_left_to_the_default(engine: Engine) -> None:
    _pg(engine)
    now = datetime(2026, 12, 2, 12, tzinfo=UTC)
    stray_week = partitions.week_of(now + 3 * partitions.WEEK)
    SqlTelemetryRepository(engine).store([_row("veh-1", stray_week.starts, None)], [])
    with engine.begin() as conn:
        created = partitions.ensure_weeks(conn, now)
        assert partitions.ensure_weeks(conn, now) == []  # idempotent
    assert len(created) == partitions.AHEAD_WEEKS  # one week fewer: the stray's
    assert stray_week.name not in created and partitions.week_of(now).name in created
    assert _rows_per_table(engine) == {partitions.DEFAULT: 1}


def _weeks_for_the_scenario(engine: Engine) -> None:
    with engine.begin() as conn:
        partitions.ensure_weeks(conn, NOW - timedelta(days=730), ahead=104 + 8)


@pytest.mark.parametrize("seed", [7, 11, 23])
def test_a_run_over_weeks_ends_as_the_row_by_row_run(engine: Engine, seed: int) -> None:
    """The scenario of test_retention_store (every boundary, holds, anonymised links) on a
    partitioned table: the same fates as the oracle, the same counts as the in-memory store,
    and every week dropped whole had rows that had all expired."""
    _pg(engine)
    _weeks_for_the_scenario(engine)
    s = build(POLICY, NOW, seed=seed)
    # and a week of section B values ten weeks ago: all expired, nothing held
    week = partitions.week_of(NOW - timedelta(weeks=10))
    s.rows += [
        _row("veh-live-0000000001", week.starts + timedelta(hours=h), None, h)._replace(
            subject_id="cust-a", expires_at=week.starts + timedelta(hours=h, weeks=4)
        )
        for h in range(0, 160, 7)
    ]
    _load(engine, s)
    before = _rows_per_table(engine)
    service, _holds, _log = _services(engine)
    report = service.run()
    assert _fates(engine, s) == oracle(POLICY, s)
    with engine.connect() as conn:
        left = {w.name for w in partitions.weeks(conn)}
    dropped = {
        name: n for name, n in before.items() if name != partitions.DEFAULT and name not in left
    }
    assert dropped, "no week with values was dropped whole"
    from carprivacy.testing import FakeClock, InMemoryStores, bootstrap_in_memory

    stores = InMemoryStores()
    for v in s.vehicles:
        stores.master.vehicles[v.id] = v
    stores.telemetry.store(s.rows, [])
    stores.master.contracts.update({c.id: c for c in s.contracts})
    stores.master.payments.update({p.id: p for p in s.payments})
    for h in s.holds:
        stores.legal_holds.add(h)
    fake = bootstrap_in_memory(policy=POLICY, clock=FakeClock(NOW), stores=stores)
    assert report.counts == fake.retention.run().counts
    assert service.run().total == 0


def test_a_late_value_keeps_its_week(engine: Engine) -> None:
    """A value written into a week after it was found expired (a car sending old data) is
    never dropped with it: the drop checks again under the table lock."""
    _pg(engine)
    from carprivacy.adapters.db.repositories import retention_partitions

    week = partitions.week_of(NOW - timedelta(days=70))
    with engine.begin() as conn:
        conn.execute(text(partitions.create_week_sql(week)))
    expired = week.starts + timedelta(days=28)
    store = SqlTelemetryRepository(engine)
    store.store([_row("veh-1", week.starts + timedelta(hours=h), expired, h) for h in range(5)], [])
    with engine.connect() as conn:
        (found,) = retention_partitions.expired(conn, NOW, holds=False)
    assert found.name == week.name and found.rows == 5
    store.store([_row("veh-2", week.starts, NOW + timedelta(days=1), 9)], [])  # late, live
    with engine.begin() as conn:
        assert not retention_partitions.drop(conn, found, NOW)
    assert _rows_per_table(engine) == {week.name: 6}


def test_holds_and_live_values_keep_a_week(engine: Engine) -> None:
    _pg(engine)
    from carprivacy.adapters.db.repositories import retention_partitions
    from carprivacy.adapters.db.repositories.retention import SqlLegalHoldRepository
    from carprivacy.domain.legal_holds import LegalHold

    weeks = [partitions.week_of(NOW - timedelta(days=d)) for d in (70, 77, 84)]
    with engine.begin() as conn:
        for w in weeks:
            conn.execute(text(partitions.create_week_sql(w)))
    rows: list[Any] = []
    for i, w in enumerate(weeks):
        rows += [
            _row(f"veh-{i}", w.starts + timedelta(hours=h), w.starts + timedelta(days=28), h)
            for h in range(3)
        ]
    rows.append(_row("veh-1", weeks[1].starts + timedelta(hours=9), None, 9))  # live: no expiry
    SqlTelemetryRepository(engine).store(rows, [])
    SqlLegalHoldRepository(engine).add(
        LegalHold("hold-1", None, "veh-2", None, "a claim", "officer", NOW - timedelta(days=1))
    )
    with engine.connect() as conn:
        found = retention_partitions.expired(conn, NOW, holds=True)
    assert [p.name for p in found] == [weeks[0].name]
    assert found[0].rows == 3 and {g.category for g in found[0].groups} == {"traffic_info"}
