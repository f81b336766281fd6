"""The ConsentStatistics port on the in-memory ledger (the subject-state fake's entries)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

from carprivacy.domain.consent_ledger import EntryKind
from carprivacy.services.oversight.ports import COUNTED_KINDS, ConsentCount
from carprivacy.testing.subject_state import InMemorySubjectStateRepository


class InMemoryConsentStatistics:
    def __init__(self, states: InMemorySubjectStateRepository) -> None:
        self.states = states

    def consent_counts(self, since: datetime | None = None) -> list[ConsentCount]:
        counted: Counter[tuple[date, str, str, EntryKind]] = Counter()
        for e in self.states.ledger_rows:
            if e.kind not in COUNTED_KINDS or e.topic is None:
                continue
            if since is not None and e.at < since:
                continue
            counted[(e.at.astimezone(UTC).date(), e.topic, e.channel.value, e.kind)] += 1
        return [
            ConsentCount(day, topic, channel, kind, n)
            for (day, topic, channel, kind), n in sorted(counted.items())
        ]
