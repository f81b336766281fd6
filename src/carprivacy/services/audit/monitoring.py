"""Monitoring of access (SPEC U3): audit entries flow through the rules of
``domain/monitoring.py``; alerts are stored once (their id is stable), listed and filtered for
the console, and acknowledged with a note.

The rules' per-caller windows (the distinct subjects of the hour, recent denies, the off-hours
day) are kept behind :class:`~carprivacy.services.audit.ports.MonitoringWindows`: in the database
in production, so that every process serving requests counts a caller's accesses in one place;
:class:`ProcessWindows` keeps them in this process (tests, a single process)."""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from carprivacy.domain.access import Caller, Role
from carprivacy.domain.audit import AuditEntry
from carprivacy.domain.errors import AccessDeniedError, InvalidInputError, NotFoundError, Problem
from carprivacy.domain.monitoring import (
    Acknowledgement,
    Alert,
    AlertRule,
    CallerWindow,
    Monitor,
    MonitoringRules,
    feed,
)
from carprivacy.services.audit.ports import AlertRepository, MonitoringWindows, WindowSession
from carprivacy.services.ports.clock import Clock

ACKNOWLEDGERS = frozenset({Role.PRIVACY_OFFICER})  # who reviews unusual access
MAX_NOTE = 2000


@dataclass(frozen=True)
class AlertQuery:
    """Which alerts to list: all filters optional; newest first."""

    rule: AlertRule | None = None
    caller_id: str | None = None
    since: datetime | None = None  # raised at or after
    until: datetime | None = None  # raised before
    acknowledged: bool | None = None
    limit: int = 100


@dataclass(frozen=True)
class ScanResult:
    """What a scan of the stored log found: entries read, alerts the rules raised over them, and
    how many of those were not stored yet."""

    entries: int
    raised: int
    new: int

    def __str__(self) -> str:
        return f"scan: entries {self.entries}, alerts raised {self.raised}, new {self.new}"


class MonitoringService:
    """Observes appended audit entries (register ``observe`` with the AuditService)."""

    def __init__(
        self,
        repository: AlertRepository,
        rules: MonitoringRules | None = None,
        windows: MonitoringWindows | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.repository = repository
        self.rules = rules or MonitoringRules()
        self.windows = windows if windows is not None else ProcessWindows()
        self.clock: Clock = clock or (lambda: datetime.now(UTC))

    def observe(self, entries: Sequence[AuditEntry]) -> list[Alert]:
        """Feed appended entries through the rules on the shared windows of their callers."""
        raised: list[Alert] = []
        with self.windows.session({e.caller_id for e in entries}) as session:
            for entry in entries:
                window = session.window(entry.caller_id)
                caller = entry.caller_id

                def count(hour: datetime, refs: Sequence[str], caller: str = caller) -> int:
                    return session.count(caller, hour, refs)

                raised.extend(feed(self.rules, entry, window, count))
        if raised:
            self.repository.add(raised)
        return raised

    def scan(self, entries: Iterable[AuditEntry]) -> ScanResult:
        """Re-run the rules over stored entries (after a restart, or after the rules changed),
        on windows of their own; stores the alerts not stored yet."""
        monitor = Monitor(self.rules)
        read = 0
        found: list[Alert] = []
        for entry in entries:
            read += 1
            found.extend(monitor.feed(entry))
        new = self.repository.add(found) if found else 0
        return ScanResult(read, len(found), new)

    def alerts(self, query: AlertQuery | None = None) -> list[Alert]:
        return self.repository.list(query or AlertQuery())

    def acknowledge(self, alert_id: str, by: Caller, note: str) -> Alert:
        """Record that ``by`` looked at the alert and what they found (one more note each time:
        earlier acknowledgements stay). Only the privacy officer acknowledges."""
        if by.role not in ACKNOWLEDGERS:
            raise AccessDeniedError("this needs the role privacy_officer", ("caller.role",))
        text = note.strip()
        if not text or len(text) > MAX_NOTE:
            raise InvalidInputError([Problem("note", "length", f"1 to {MAX_NOTE} characters")])
        if self.repository.get(alert_id) is None:
            raise NotFoundError("alert", alert_id)
        self.repository.acknowledge(Acknowledgement(alert_id, by.id, self.clock(), text))
        alert = self.repository.get(alert_id)
        assert alert is not None
        return alert


class ProcessWindows:
    """The monitoring windows in this process only (one lock for all callers)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, CallerWindow] = {}
        self._subjects: dict[str, tuple[datetime, set[str]]] = {}

    @contextmanager
    def session(self, caller_ids: Collection[str]) -> Iterator[WindowSession]:
        with self._lock:
            yield ProcessWindowSession(self)


class ProcessWindowSession:
    """A session of :class:`ProcessWindows` (it holds their lock)."""

    def __init__(self, store: ProcessWindows) -> None:
        self._store = store

    def window(self, caller_id: str) -> CallerWindow:
        return self._store._windows.setdefault(caller_id, CallerWindow())

    def count(self, caller_id: str, hour: datetime, refs: Sequence[str]) -> int:
        held = self._store._subjects.get(caller_id)
        if held is None or held[0] != hour:
            held = self._store._subjects[caller_id] = (hour, set())
        held[1].update(refs)
        return len(held[1])
