"""In-memory fakes of the monitoring ports: alerts with their acknowledgements, and the windows
(``ProcessWindows``: one store shared by every service given it, as the database is)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from carprivacy.domain.monitoring import Acknowledgement, Alert
from carprivacy.services.audit.monitoring import (
    AlertQuery,
    ProcessWindows,
    ProcessWindowSession,
)

__all__ = ["InMemoryAlertRepository", "InMemoryMonitoringWindows", "InMemoryWindowSession"]


class InMemoryMonitoringWindows(ProcessWindows):
    """The monitoring windows in memory: every service given one instance shares it, as every
    process shares the database's."""


class InMemoryWindowSession(ProcessWindowSession):
    """A session of :class:`InMemoryMonitoringWindows`."""


@dataclass
class InMemoryAlertRepository:
    stored: dict[str, Alert] = field(default_factory=dict)

    def add(self, new: Sequence[Alert]) -> int:
        added = 0
        for alert in new:
            if alert.id not in self.stored:
                self.stored[alert.id] = replace(alert, acknowledgements=())
                added += 1
        return added

    def list(self, query: AlertQuery) -> list[Alert]:
        found = [
            a
            for a in self.stored.values()
            if (query.rule is None or a.rule is query.rule)
            and (query.caller_id is None or a.caller_id == query.caller_id)
            and (query.since is None or a.at >= query.since)
            and (query.until is None or a.at < query.until)
            and (query.acknowledged is None or a.acknowledged == query.acknowledged)
        ]
        return sorted(found, key=lambda a: (a.at, a.id), reverse=True)[: query.limit]

    def get(self, alert_id: str) -> Alert | None:
        return self.stored.get(alert_id)

    def acknowledge(self, acknowledgement: Acknowledgement) -> None:
        alert = self.stored[acknowledgement.alert_id]
        acks = (*alert.acknowledgements, acknowledgement)
        self.stored[alert.id] = replace(alert, acknowledgements=acks)
