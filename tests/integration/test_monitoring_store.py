"""Monitoring on SQLite and PostgreSQL (SPEC U3): the rules' windows live in the database, so two
service instances on one database (as two ``serve --workers`` processes are) count one caller's
accesses together, also when they feed at the same moment; alerts are filtered and
acknowledged with a note there."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from carprivacy.adapters.db.engine import make_engine
from carprivacy.adapters.db.repositories.monitoring import SqlAlertRepository, SqlMonitoringWindows
from carprivacy.adapters.db.tables.access import monitoring_subjects
from carprivacy.domain.access import Caller, CallerKind, Role
from carprivacy.domain.audit import AuditEntry, AuditRecord, seal_many
from carprivacy.domain.monitoring import AlertRule, MonitoringRules
from carprivacy.services.audit.monitoring import AlertQuery, MonitoringService

WORKDAY = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # Wednesday, 10:00 in Amsterdam
OFFICER = Caller("po", CallerKind.PERSON, Role.PRIVACY_OFFICER, "mini_nl")


def entry(
    seq: int, at: datetime, subjects: tuple[str, ...], caller: str = "d1", outcome: str = "allow"
) -> AuditEntry:
    """An entry as the log would hand it to observers (its chain is not what is tested)."""
    rec = AuditRecord(
        at.isoformat(timespec="microseconds"),
        caller,
        "dealers",
        "dealer",
        "after_sales",
        subjects[0] if len(subjects) == 1 else "",
        "",
        "vehicle_status",
        outcome,
        "ok",
        "vehicle_linked",
        subjects=",".join(subjects) if len(subjects) > 1 else "",
    )
    (sealed,) = seal_many([rec], (seq - 1, "0" * 64) if seq > 1 else None)
    return sealed


@pytest.fixture
def processes(engine: Engine) -> Iterator[Callable[[MonitoringRules], MonitoringService]]:
    """Makes one process's monitoring: its own engine (connection pool) on the shared database."""
    engines: list[Engine] = []

    def make(rules: MonitoringRules) -> MonitoringService:
        other = make_engine(engine.url.render_as_string(hide_password=False))
        engines.append(other)
        return MonitoringService(
            SqlAlertRepository(other), rules, SqlMonitoringWindows(other), lambda: WORKDAY
        )

    yield make
    for other in engines:
        other.dispose()


Processes = Callable[[MonitoringRules], MonitoringService]


def test_two_instances_on_one_database_count_a_caller_together(
    engine: Engine, processes: Processes
) -> None:
    rules = MonitoringRules(thresholds={"dealer": 5}, burst_count=4)
    a, b = processes(rules), processes(rules)
    assert a.observe([entry(1, WORKDAY, ("s0", "s1", "s2"))]) == []
    assert b.observe([entry(2, WORKDAY, ("s2", "s3", "s4"))]) == []  # 5 distinct: not over
    (alert,) = a.observe([entry(3, WORKDAY, ("s5",))])
    assert (alert.rule, alert.count, alert.threshold) == (AlertRule.SUBJECTS_PER_HOUR, 6, 5)
    assert b.observe([entry(4, WORKDAY, ("s6",))]) == []  # one alert per caller and hour
    raised = []
    for i in range(4):
        served = (a, b)[i % 2]
        denied = entry(5 + i, WORKDAY + timedelta(seconds=i), ("x",), outcome="deny")
        raised += served.observe([denied])
    assert [x.rule for x in raised] == [AlertRule.DENIED_BURST]
    # the next hour counts again, and the hours before are dropped
    later = WORKDAY + timedelta(hours=1)
    assert b.observe([entry(9, later, ("s0",))]) == []
    with engine.connect() as conn:
        held = conn.execute(select(monitoring_subjects.c.hour)).scalars().all()
    assert {h.replace(tzinfo=UTC) if h.tzinfo is None else h for h in held} == {later}


def test_instances_feeding_at_once_lose_no_count(engine: Engine, processes: Processes) -> None:
    rules = MonitoringRules(thresholds={"dealer": 59})
    services = [processes(rules), processes(rules)]
    raised: list[object] = []

    def work(svc: MonitoringService, offset: int) -> None:
        for i in range(30):
            raised.extend(svc.observe([entry(offset + i, WORKDAY, (f"s{offset + i}",))]))

    threads = [threading.Thread(target=work, args=(s, 1 + 100 * n)) for n, s in enumerate(services)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(monitoring_subjects)).scalar_one()
    assert n == 60  # every subject counted once, in one place
    assert [getattr(x, "count", None) for x in raised] == [60]  # and the 60th raised it


def test_alerts_are_filtered_and_acknowledged_with_a_note(processes: Processes) -> None:
    svc = processes(MonitoringRules(thresholds={"dealer": 1}))
    svc.observe([entry(1, WORKDAY, ("s1", "s2"), caller="d1")])
    svc.observe([entry(2, WORKDAY + timedelta(hours=2), ("s1", "s2"), caller="d2")])
    newest, oldest = svc.alerts()
    assert (newest.caller_id, oldest.caller_id) == ("d2", "d1")
    assert [a.caller_id for a in svc.alerts(AlertQuery(caller_id="d1"))] == ["d1"]
    window = AlertQuery(since=WORKDAY + timedelta(hours=1), until=WORKDAY + timedelta(hours=3))
    assert [a.caller_id for a in svc.alerts(window)] == ["d2"]
    assert svc.alerts(AlertQuery(rule=AlertRule.OFF_HOURS)) == []
    svc.acknowledge(oldest.id, OFFICER, "a list export for the recall; expected")
    again = processes(MonitoringRules()).acknowledge(oldest.id, OFFICER, "closed")
    assert [(k.by, k.at, k.note) for k in again.acknowledgements] == [
        ("po", WORKDAY, "a list export for the recall; expected"),
        ("po", WORKDAY, "closed"),
    ]
    assert [a.id for a in svc.alerts(AlertQuery(acknowledged=True))] == [oldest.id]
    assert [a.id for a in svc.alerts(AlertQuery(acknowledged=False))] == [newest.id]
    assert svc.alerts(AlertQuery(acknowledged=True))[0].acknowledgements[1].note == "closed"
