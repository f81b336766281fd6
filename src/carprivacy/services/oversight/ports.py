"""The console's read ports (SPEC R7, C4): the data-subject requests with their deadlines, and
the consent ledger's counts per topic, channel, kind and day."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from carprivacy.domain.access import Caller
from carprivacy.domain.consent_ledger import EntryKind
from carprivacy.domain.request_workflow import DataSubjectRequest


class RequestsOverview(Protocol):
    """The data-subject requests the console shows ``caller`` (the logged-in privacy officer,
    for the store's own role check), at most ``limit``, open ones preferred; any order (the
    console sorts them). Summaries are enough: kind, state, deadline and history."""

    def requests(self, caller: Caller, limit: int) -> Sequence[DataSubjectRequest]: ...


class NoRequests:
    """The overview before a request store is connected: no requests."""

    def requests(self, caller: Caller, limit: int) -> Sequence[DataSubjectRequest]:
        return ()


@dataclass(frozen=True)
class ConsentCount:
    """How many ledger entries of one kind were made for one topic through one channel on one
    day (UTC). A count, no person."""

    day: date
    topic: str
    channel: str
    kind: EntryKind
    count: int


COUNTED_KINDS = (EntryKind.CONSENT_GIVEN, EntryKind.CONSENT_WITHDRAWN)


class ConsentStatistics(Protocol):
    def consent_counts(self, since: datetime | None = None) -> list[ConsentCount]:
        """Given and withdrawn consents per (day, topic, channel, kind), from ``since`` on
        (inclusive; None: every entry), in day order."""
        ...
