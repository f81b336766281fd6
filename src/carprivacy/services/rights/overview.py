"""The console's requests page over the rights-request store (SPEC R7): the oversight port
``RequestsOverview`` answered by ``RightsRequests.find``, open requests first, as the officer
may see them (the store's own role check applies to the caller)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from carprivacy.domain.access import Caller
from carprivacy.domain.request_workflow import DataSubjectRequest
from carprivacy.services.rights.ports import RequestFilter
from carprivacy.services.rights.requests import RightsRequests


@dataclass(frozen=True)
class StoredRequestsOverview:
    store: RightsRequests

    def requests(self, caller: Caller, limit: int) -> Sequence[DataSubjectRequest]:
        open_ = self.store.find(caller, RequestFilter(open_only=True, limit=limit))
        rest = self.store.find(caller, RequestFilter(limit=max(limit - len(open_), 0)))
        seen = {s.request.id for s in open_}
        return [s.request for s in [*open_, *(s for s in rest if s.request.id not in seen)]]
