"""Telemetry read windows on the real stores, SQLite and PostgreSQL, and the in-memory fake alike
(SPEC U1, R1): one vehicle's or subject's period, signals, live values only, (ts, id) order and
keyset positions that neither repeat nor skip a row; the read uses the vehicle/subject indexes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from carprivacy.adapters.db.repositories.telemetry import SqlTelemetryRepository
from carprivacy.domain.telemetry import StoredReading, TelemetryRow, TelemetryWindow
from carprivacy.testing import InMemoryTelemetryRepository

T0 = datetime(2026, 3, 1, tzinfo=UTC)
NOW = T0 + timedelta(days=3)
SIGNALS = ("Vehicle.Speed", "Vehicle.TraveledDistance")


def _rows() -> list[TelemetryRow]:
    rows = []
    for h in range(48):
        for v in ("veh-a", "veh-b"):
            for s in SIGNALS:
                subject = ("alice" if h < 24 else "bob") if v == "veh-a" else "carol"
                rows.append(
                    TelemetryRow(
                        v,
                        subject,
                        "fleet-1" if h >= 40 else None,
                        f"subject:{subject}",
                        s,
                        "vehicle_status",
                        None,
                        str(h),
                        None,
                        T0 + timedelta(hours=h),
                        NOW,
                        "http",
                        ("contract_performance",),
                        NOW - timedelta(hours=1) if h < 6 else NOW + timedelta(days=30),
                    )
                )
    return rows


def _all(store: object, window: TelemetryWindow, size: int) -> list[StoredReading]:
    out: list[StoredReading] = []
    after = None
    while True:
        page = store.window(window, after, size)  # type: ignore[attr-defined]
        out.extend(page)
        if len(page) < size:
            return out
        after = (page[-1].ts, page[-1].id)


WINDOWS = [
    TelemetryWindow(vehicle_id="veh-a"),
    TelemetryWindow(vehicle_id="veh-a", live_at=NOW),
    TelemetryWindow(subject_id="bob", start=T0 + timedelta(hours=30), end=T0 + timedelta(hours=35)),
    TelemetryWindow(subject_id="carol", signals=("Vehicle.Speed",), live_at=NOW),
    TelemetryWindow(vehicle_id="veh-b", categories=("position_movement",)),
]


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("size", [1, 7, 1000])
def test_windows_match_the_fake_and_pages_neither_repeat_nor_skip(
    engine: Engine, window: TelemetryWindow, size: int
) -> None:
    sql, fake = SqlTelemetryRepository(engine), InMemoryTelemetryRepository()
    rows = _rows()
    assert sql.store(rows, []).committed and fake.store(rows, []).committed
    got = _all(sql, window, size)
    expected = _all(fake, window, size)
    strip = [(r.vehicle_id, r.subject_id, r.fleet_id, r.signal, r.value, r.ts) for r in got]
    assert strip == [
        (r.vehicle_id, r.subject_id, r.fleet_id, r.signal, r.value, r.ts) for r in expected
    ]
    assert len({r.id for r in got}) == len(got)
    assert [(r.ts, r.id) for r in got] == sorted((r.ts, r.id) for r in got)
    if window.live_at is not None:
        assert all(r.expires_at is None or r.expires_at > NOW for r in got)


NEWEST = [
    TelemetryWindow(vehicle_id="veh-a", newest_first=True),
    # the subject's values of one vehicle: alice's part of veh-a's history only
    TelemetryWindow(vehicle_id="veh-a", subject_id="alice", signals=SIGNALS[:1], newest_first=True),
    TelemetryWindow(subject_id="carol", live_at=NOW, newest_first=True),
]


@pytest.mark.parametrize("window", NEWEST)
@pytest.mark.parametrize("size", [1, 7, 1000])
def test_newest_first_windows_match_the_fake_and_run_backwards(
    engine: Engine, window: TelemetryWindow, size: int
) -> None:
    """SPEC C2: the newest value of a signal is one row read (the CarData telematicData)."""
    sql, fake = SqlTelemetryRepository(engine), InMemoryTelemetryRepository()
    rows = _rows()
    assert sql.store(rows, []).committed and fake.store(rows, []).committed
    got = _all(sql, window, size)
    expected = _all(fake, window, size)
    strip = [(r.vehicle_id, r.subject_id, r.signal, r.value, r.ts) for r in got]
    assert strip == [(r.vehicle_id, r.subject_id, r.signal, r.value, r.ts) for r in expected]
    assert len({r.id for r in got}) == len(got) and got
    assert [(r.ts, r.id) for r in got] == sorted(((r.ts, r.id) for r in got), reverse=True)
    if window.subject_id is not None:
        assert {r.subject_id for r in got} == {window.subject_id}
    if window.subject_id == "alice":
        assert got[0].ts == T0 + timedelta(hours=23)  # the newest of alice's part


def test_a_vehicle_period_read_uses_the_vehicle_index(engine: Engine) -> None:
    SqlTelemetryRepository(engine).store(_rows(), [])
    if engine.dialect.name == "sqlite":
        sql = (
            "EXPLAIN QUERY PLAN SELECT id FROM telemetry WHERE vehicle_id = 'veh-a' "
            "AND ts >= '2026-03-01' ORDER BY ts, id LIMIT 10"
        )
        plan = " ".join(str(r[-1]) for r in engine.connect().execute(text(sql)))
        assert "ix_telemetry_vehicle_ts" in plan, plan
        sql = sql.replace("vehicle_id = 'veh-a'", "subject_id = 'bob'")
        plan = " ".join(str(r[-1]) for r in engine.connect().execute(text(sql)))
        assert "ix_telemetry_subject_ts" in plan, plan
    else:
        with engine.connect() as conn:
            conn.execute(text("SET enable_seqscan = off"))
            sql = (
                "EXPLAIN SELECT id FROM telemetry WHERE vehicle_id = 'veh-a' "
                "ORDER BY ts, id LIMIT 10"
            )
            plan = " ".join(r[0] for r in conn.execute(text(sql)))
        # the partitions' copies of the index are named after them (partitions.py)
        assert "ix_telemetry_vehicle_ts" in plan or "_vehicle_id_ts_id_idx" in plan, plan


def test_a_later_page_starts_in_the_index_at_its_position(engine: Engine) -> None:
    """A page after a position is a range of the vehicle's index from that position, not a scan
    of the vehicle's values from the first one (a long stream reads each value once)."""
    store = SqlTelemetryRepository(engine)
    store.store(_rows(), [])
    (first,) = store.window(TelemetryWindow(vehicle_id="veh-a"), None, 1)
    sql, params = store._window_sql(
        TelemetryWindow(vehicle_id="veh-a", live_at=NOW), (first.ts, first.id), 10
    )
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = " ".join(str(r[-1]) for r in cursor.fetchall())
            assert "ix_telemetry_vehicle_ts (vehicle_id=? AND ts>?)" in plan, plan
        else:
            cursor.execute("SET enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = " ".join(r[0] for r in cursor.fetchall())
            assert "Index Cond" in plan and "ROW(ts, id) >" in plan, plan
        cursor.close()
    finally:
        raw.close()


def test_window_times_are_utc_whatever_the_server_zone(engine: Engine) -> None:
    """A window's times come back as datetime.UTC on either store; on PostgreSQL every session
    is set to UTC, and one whose zone was changed under it still gives UTC times."""
    store = SqlTelemetryRepository(engine)
    assert store.store(_rows(), []).committed
    zones = ["UTC"]
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:  # a session of the pool answers in UTC
            assert conn.execute(text("SHOW TimeZone")).scalar_one() == "UTC"
        zones.append("Europe/Amsterdam")
    for zone in zones:
        if zone != "UTC":
            with engine.connect() as conn:  # the pooled session keeps this zone
                conn.exec_driver_sql(f"SET TIME ZONE '{zone}'")
                conn.commit()
            with engine.connect() as conn:
                assert conn.execute(text("SHOW TimeZone")).scalar_one() == zone
        got = _all(store, TelemetryWindow(vehicle_id="veh-a"), 1000)
        assert got and all(r.ts.tzinfo is UTC for r in got), zone
        assert all(r.expires_at is None or r.expires_at.tzinfo is UTC for r in got), zone
        assert min(r.ts for r in got) == T0, zone
