"""In-memory fake of the alert repository."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from carprivacy.domain.monitoring import Alert


@dataclass
class InMemoryAlertRepository:
    stored: dict[str, Alert] = field(default_factory=dict)

    def add(self, new: Sequence[Alert]) -> int:
        added = 0
        for alert in new:
            if alert.id not in self.stored:
                self.stored[alert.id] = alert
                added += 1
        return added

    def list(self, since: datetime | None = None, limit: int = 100) -> list[Alert]:
        found = [a for a in self.stored.values() if since is None or a.at >= since]
        return sorted(found, key=lambda a: a.at, reverse=True)[:limit]
