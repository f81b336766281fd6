"""Consent statistics per topic (SPEC C4): given and withdrawn per channel, in total and per
day, from the ledger's counts. Counts only: no person, no subject id, no text of a choice."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from carprivacy.domain.consent_ledger import EntryKind
from carprivacy.domain.policy import Policy
from carprivacy.services.oversight.ports import ConsentCount, ConsentStatistics


@dataclass(frozen=True)
class TopicStatistics:
    topic: str
    given: int
    withdrawn: int
    # (kind, channel) -> count over the whole period
    by_channel: dict[tuple[EntryKind, str], int] = field(default_factory=dict)
    # (kind, channel) -> [(day, count)] in day order
    by_day: dict[tuple[EntryKind, str], list[tuple[date, int]]] = field(default_factory=dict)

    @property
    def channels(self) -> list[str]:
        return sorted({channel for _, channel in self.by_channel})

    def count(self, kind: EntryKind, channel: str) -> int:
        return self.by_channel.get((kind, channel), 0)


def per_topic(counts: Iterable[ConsentCount], topics: Iterable[str]) -> list[TopicStatistics]:
    """One entry per topic of ``topics`` (in that order; zero counts included), then any other
    topic the ledger holds (a topic since removed from the policy) in name order."""
    days: dict[str, dict[tuple[EntryKind, str], Counter[date]]] = defaultdict(
        lambda: defaultdict(Counter)
    )
    for c in counts:
        days[c.topic][(c.kind, c.channel)][c.day] += c.count
    order = list(dict.fromkeys(topics))
    order += sorted(t for t in days if t not in order)
    out = []
    for topic in order:
        series = days.get(topic, {})
        by_day = {key: sorted(per_day.items()) for key, per_day in sorted(series.items())}
        by_channel = {key: sum(per_day.values()) for key, per_day in sorted(series.items())}
        out.append(
            TopicStatistics(
                topic=topic,
                given=sum(n for (k, _), n in by_channel.items() if k is EntryKind.CONSENT_GIVEN),
                withdrawn=sum(
                    n for (k, _), n in by_channel.items() if k is EntryKind.CONSENT_WITHDRAWN
                ),
                by_channel=by_channel,
                by_day=by_day,
            )
        )
    return out


class ConsentStatisticsService:
    """The console's consent statistics: the ledger's counts per topic of the policy."""

    def __init__(self, counts: ConsentStatistics, policy: Policy) -> None:
        self.counts = counts
        self.policy = policy

    def per_topic(self, since: datetime | None = None) -> list[TopicStatistics]:
        return per_topic(self.counts.consent_counts(since), list(self.policy.consent_topics_by_id))
