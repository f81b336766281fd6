"""Monitoring of access (SPEC U3): audit entries flow through the rules of
``domain/monitoring.py``; alerts are stored once (their id is stable) and listed for the console."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from carprivacy.domain.audit import AuditEntry
from carprivacy.domain.monitoring import Alert, Monitor, MonitoringRules
from carprivacy.services.audit.ports import AlertRepository


class MonitoringService:
    """Observes appended audit entries (register ``observe`` with the AuditService)."""

    def __init__(self, repository: AlertRepository, rules: MonitoringRules | None = None) -> None:
        self.repository = repository
        self.rules = rules or MonitoringRules()
        self._monitor = Monitor(self.rules)

    def observe(self, entries: Sequence[AuditEntry]) -> list[Alert]:
        raised = [alert for entry in entries for alert in self._monitor.feed(entry)]
        if raised:
            self.repository.add(raised)
        return raised

    def scan(self, entries: Iterable[AuditEntry]) -> int:
        """Re-run the rules over stored entries (after a restart); returns the new alerts."""
        monitor = Monitor(self.rules)
        found = [alert for entry in entries for alert in monitor.feed(entry)]
        return self.repository.add(found) if found else 0

    def alerts(self, since: datetime | None = None, limit: int = 100) -> list[Alert]:
        return self.repository.list(since, limit)
