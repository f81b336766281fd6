"""A retention run's record (SPEC L2): what it removed, per table, category, rule and action.

A run is recorded when it starts (``running``), its counts are updated in the same transaction
as each batch it deletes or anonymises, and it ends ``completed``. A run killed part-way is left
``running``; the next run (which holds the run lock, so the killed one is surely gone) marks it
``interrupted``: its counts are exactly what it committed. Counts hold ids of rules and
categories only, never personal data.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from carprivacy.domain.policy import ExpiryAction


class RunStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True, order=True)
class CountKey:
    table: str
    category: str
    rule: str
    action: ExpiryAction


Counts = Counter[CountKey]


@dataclass(frozen=True)
class RetentionRun:
    id: str
    as_of: datetime  # the moment expiry was judged against
    started_at: datetime
    status: RunStatus
    policy_version: str
    counts: tuple[tuple[CountKey, int], ...] = ()
    finished_at: datetime | None = None

    @property
    def total(self) -> int:
        return sum(n for _k, n in self.counts)


def counts_to_json(counts: Counts) -> list[dict[str, object]]:
    return [
        {
            "table": k.table,
            "category": k.category,
            "rule": k.rule,
            "action": k.action.value,
            "rows": n,
        }
        for k, n in sorted(counts.items())
        if n
    ]


def counts_from_json(items: list[dict[str, object]]) -> tuple[tuple[CountKey, int], ...]:
    return tuple(
        (
            CountKey(
                str(i["table"]), str(i["category"]), str(i["rule"]), ExpiryAction(str(i["action"]))
            ),
            int(str(i["rows"])),
        )
        for i in items
    )
