"""The monitoring service on fakes (SPEC U3): windows shared by every service instance given the
same store (as processes share the database), alerts filtered and acknowledged with a note,
scans that report what they found in the same words, off-hours in the configured time zone
across daylight saving time."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pytest

from carprivacy.adapters.monitoring.rules_file import parse_rules
from carprivacy.domain.access import Caller, CallerKind, Role
from carprivacy.domain.audit import AuditEntry, AuditRecord, seal_many
from carprivacy.domain.errors import AccessDeniedError, InvalidInputError, NotFoundError
from carprivacy.domain.monitoring import AlertRule, MonitoringRules, WorkingHours, evaluate
from carprivacy.services.audit.monitoring import AlertQuery, MonitoringService
from carprivacy.testing import InMemoryAlertRepository, InMemoryMonitoringWindows

WORKDAY = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # Wednesday, 10:00 in Amsterdam
OFFICER = Caller("po", CallerKind.PERSON, Role.PRIVACY_OFFICER, "mini_nl")
DESK = Caller("desk", CallerKind.PERSON, Role.CUSTOMER_SERVICE, "mini_nl")


def record(
    at: datetime, caller: str = "d1", subjects: tuple[str, ...] = ("s",), outcome: str = "allow"
) -> AuditRecord:
    one = subjects[0] if len(subjects) == 1 else ""
    return AuditRecord(
        at.isoformat(timespec="microseconds"),
        caller,
        "dealers",
        "dealer",
        "after_sales",
        one,
        "",
        "vehicle_status",
        outcome,
        "ok",
        "vehicle_linked",
        subjects=",".join(subjects) if len(subjects) > 1 else "",
    )


class Log:
    """Entries chained in order, fed to whichever service instance serves them."""

    def __init__(self) -> None:
        self.entries: list[AuditEntry] = []

    def append(self, rec: AuditRecord) -> list[AuditEntry]:
        head = (self.entries[-1].seq, self.entries[-1].hash) if self.entries else None
        new = seal_many([rec], head)
        self.entries += new
        return new


def two_processes(rules: MonitoringRules) -> tuple[MonitoringService, MonitoringService]:
    windows, alerts = InMemoryMonitoringWindows(), InMemoryAlertRepository()
    return (
        MonitoringService(alerts, rules, windows, lambda: WORKDAY),
        MonitoringService(alerts, rules, windows, lambda: WORKDAY),
    )


def test_two_service_instances_on_one_store_count_a_caller_together() -> None:
    a, b = two_processes(MonitoringRules(thresholds={"dealer": 5}, burst_count=4))
    log = Log()
    for i in range(3):
        assert a.observe(log.append(record(WORKDAY, subjects=(f"s{i}",)))) == []
    assert b.observe(log.append(record(WORKDAY, subjects=("s3", "s4", "s0")))) == []
    (alert,) = b.observe(log.append(record(WORKDAY, subjects=("s5",))))  # the 6th subject
    assert (alert.rule, alert.count) == (AlertRule.SUBJECTS_PER_HOUR, 6)
    denied = [record(WORKDAY + timedelta(seconds=i), outcome="deny") for i in range(4)]
    assert [len(s.observe(log.append(r))) for s, r in zip((a, b, a, b), denied, strict=True)] == [
        0,
        0,
        0,
        1,
    ]
    # one process alone would have seen 3 subjects and 2 denies: no alert at all
    assert len(a.alerts()) == 2


def test_alerts_are_filtered_by_rule_caller_time_and_acknowledgement() -> None:
    svc, _ = two_processes(MonitoringRules(thresholds={"dealer": 1}, burst_count=2))
    log = Log()
    svc.observe(log.append(record(WORKDAY, "d1", ("s1", "s2"))))
    svc.observe(log.append(record(WORKDAY + timedelta(hours=2), "d2", ("s1", "s2"))))
    for i in range(2):
        svc.observe(
            log.append(record(WORKDAY + timedelta(hours=3, seconds=i), "d2", ("x",), "deny"))
        )
    everything = svc.alerts()
    assert [a.rule for a in everything] == [
        AlertRule.DENIED_BURST,
        AlertRule.SUBJECTS_PER_HOUR,
        AlertRule.SUBJECTS_PER_HOUR,
    ]  # newest first
    assert [a.caller_id for a in svc.alerts(AlertQuery(caller_id="d1"))] == ["d1"]
    bursts = svc.alerts(AlertQuery(rule=AlertRule.DENIED_BURST))
    assert [a.rule for a in bursts] == [AlertRule.DENIED_BURST]
    window = AlertQuery(since=WORKDAY + timedelta(hours=1), until=WORKDAY + timedelta(hours=3))
    assert [a.caller_id for a in svc.alerts(window)] == ["d2"]
    svc.acknowledge(everything[0].id, OFFICER, "a script with an expired token; told the dealer")
    assert [a.id for a in svc.alerts(AlertQuery(acknowledged=True))] == [everything[0].id]
    assert len(svc.alerts(AlertQuery(acknowledged=False))) == 2
    assert len(svc.alerts(AlertQuery(limit=1))) == 1


def test_an_acknowledgement_records_who_when_and_the_note_and_earlier_ones_stay() -> None:
    svc, _ = two_processes(MonitoringRules(thresholds={"dealer": 1}))
    (alert,) = svc.observe(Log().append(record(WORKDAY, subjects=("s1", "s2"))))
    assert not alert.acknowledged
    first = svc.acknowledge(alert.id, OFFICER, "  checked with the workshop  ")
    assert [(k.by, k.at, k.note) for k in first.acknowledgements] == [
        ("po", WORKDAY, "checked with the workshop")
    ]
    second = svc.acknowledge(alert.id, OFFICER, "closed")
    assert [k.note for k in second.acknowledgements] == ["checked with the workshop", "closed"]
    with pytest.raises(AccessDeniedError) as refused:
        svc.acknowledge(alert.id, DESK, "not mine to close")
    assert refused.value.reasons == ("caller.role",)
    with pytest.raises(InvalidInputError):
        svc.acknowledge(alert.id, OFFICER, "   ")
    with pytest.raises(InvalidInputError):
        svc.acknowledge(alert.id, OFFICER, "x" * 2001)
    with pytest.raises(NotFoundError):
        svc.acknowledge("no-such-alert", OFFICER, "?")
    assert len(svc.alerts()[0].acknowledgements) == 2


def test_a_scan_says_what_it_found_in_the_same_words_whether_new_or_not() -> None:
    svc, _ = two_processes(MonitoringRules(thresholds={"dealer": 1}))
    log = Log()
    log.append(record(WORKDAY, subjects=("s1", "s2")))
    log.append(record(WORKDAY + timedelta(minutes=1), subjects=("s3",)))
    first, again = svc.scan(log.entries), svc.scan(log.entries)
    assert (first.entries, first.raised, first.new) == (2, 1, 1)
    assert (again.entries, again.raised, again.new) == (2, 1, 0)
    assert str(first) == "scan: entries 2, alerts raised 1, new 1"
    assert str(again) == "scan: entries 2, alerts raised 1, new 0"
    assert str(svc.scan([])) == "scan: entries 0, alerts raised 0, new 0"


AMSTERDAM = WorkingHours(time(7, 0), time(19, 0), frozenset(range(5)), "Europe/Amsterdam")


@pytest.mark.parametrize(
    ("at", "off"),
    [
        # winter time (CET, UTC+1): 07:00 local is 06:00 UTC
        (datetime(2026, 3, 27, 5, 59, tzinfo=UTC), True),  # Friday 06:59 CET
        (datetime(2026, 3, 27, 6, 0, tzinfo=UTC), False),  # Friday 07:00 CET
        (datetime(2026, 3, 27, 17, 59, tzinfo=UTC), False),  # 18:59 CET
        (datetime(2026, 3, 27, 18, 0, tzinfo=UTC), True),  # 19:00 CET
        # summer time from Sunday 29 March (CEST, UTC+2): 07:00 local is 05:00 UTC
        (datetime(2026, 3, 30, 5, 0, tzinfo=UTC), False),  # Monday 07:00 CEST
        (datetime(2026, 3, 30, 4, 59, tzinfo=UTC), True),  # Monday 06:59 CEST
        (datetime(2026, 3, 30, 17, 0, tzinfo=UTC), True),  # Monday 19:00 CEST
        # winter time again from Sunday 25 October
        (datetime(2026, 10, 23, 5, 30, tzinfo=UTC), False),  # Friday 07:30 CEST
        (datetime(2026, 10, 26, 5, 30, tzinfo=UTC), True),  # Monday 06:30 CET
        (datetime(2026, 10, 26, 6, 30, tzinfo=UTC), False),  # Monday 07:30 CET
        (datetime(2026, 10, 24, 10, 0, tzinfo=UTC), True),  # Saturday
    ],
)
def test_off_hours_are_judged_in_amsterdam_time_across_daylight_saving(
    at: datetime, off: bool
) -> None:
    rules = MonitoringRules(default_hours=AMSTERDAM)
    alerts = evaluate(seal_many([record(at)], None), rules)
    assert [a.rule for a in alerts] == ([AlertRule.OFF_HOURS] if off else [])


def test_configured_working_hours_and_zone_are_the_ones_judged() -> None:
    rules = parse_rules(
        {
            "working_hours": {
                "default": {"start": "08:30", "end": "17:00", "timezone": "Europe/Amsterdam"},
                "organisations": {"dealers": {"start": "06:00", "end": "22:00"}},
            }
        }
    )
    summer_0630 = datetime(2026, 7, 1, 4, 30, tzinfo=UTC)  # Wednesday 06:30 CEST
    dealer = record(summer_0630)
    staff = replace(dealer, organisation="mini_nl", role="customer_service")
    assert evaluate(seal_many([dealer], None), rules) == []  # the dealers' own hours
    (alert,) = evaluate(seal_many([staff], None), rules)
    assert alert.rule is AlertRule.OFF_HOURS and "08:30-17:00 Europe/Amsterdam" in alert.message
