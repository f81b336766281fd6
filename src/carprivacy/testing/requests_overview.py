"""The RequestsOverview port on a list of requests (the console's requests page in tests): made
by the domain's workflow, handed out as the port does; who asked is kept for a test to check."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from carprivacy.domain.access import Caller
from carprivacy.domain.request_workflow import DataSubjectRequest


@dataclass
class InMemoryRequestsOverview:
    made: list[DataSubjectRequest] = field(default_factory=list)
    asked_by: list[Caller] = field(default_factory=list)

    def requests(self, caller: Caller, limit: int) -> Sequence[DataSubjectRequest]:
        self.asked_by.append(caller)
        return self.made[:limit]
