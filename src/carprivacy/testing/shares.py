"""In-memory :class:`~carprivacy.services.cardata.ports.ShareRepository` (the SQL one's
behaviour, checked against it by tests/integration/test_share_store.py)."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime

from carprivacy.domain.errors import ConflictError
from carprivacy.domain.shares import Share, ShareEvent, ShareRequest, ShareState, ThirdParty


class InMemoryShareRepository:
    """``events_since`` finds entries by the wall-clock time they were recorded, as the SQL
    store's ``recorded_at`` does (a poller in another process asks "since my last poll")."""

    def __init__(self) -> None:
        self._parties: dict[str, ThirdParty] = {}
        self._requests: dict[str, ShareRequest] = {}
        self._shares: dict[str, Share] = {}
        self._events: dict[str, list[ShareEvent]] = {}
        self._recorded: list[tuple[datetime, ShareEvent]] = []
        self._lock = threading.Lock()

    def add_party(self, party: ThirdParty) -> None:
        with self._lock:
            if party.id in self._parties:
                raise ConflictError("a third party with this id exists")
            self._parties[party.id] = party

    def party(self, party_id: str) -> ThirdParty | None:
        return self._parties.get(party_id)

    def parties(self) -> list[ThirdParty]:
        return sorted(self._parties.values(), key=lambda p: p.id)

    def add_request(self, request: ShareRequest) -> None:
        self._requests[request.client_id] = request

    def request_of(self, client_id: str) -> ShareRequest | None:
        return self._requests.get(client_id)

    def add_share(self, share: Share, event: ShareEvent) -> None:
        with self._lock:
            self._shares[share.id] = share
            self._events[share.id] = [event]
            self._recorded.append((datetime.now(UTC), event))

    def share(self, share_id: str) -> Share | None:
        return self._shares.get(share_id)

    def shares(
        self,
        *,
        subject_id: str | None = None,
        party: str | None = None,
        vehicle_id: str | None = None,
        grant_id: str | None = None,
    ) -> list[Share]:
        return sorted(
            (
                s
                for s in self._shares.values()
                if (subject_id is None or s.subject_id == subject_id)
                and (party is None or s.party == party)
                and (vehicle_id is None or s.vehicle_id == vehicle_id)
                and (grant_id is None or s.grant_id == grant_id)
            ),
            key=lambda s: (s.created_at, s.id),
        )

    def move(
        self,
        share_id: str,
        expected: ShareState,
        event: ShareEvent,
        revoked_at: datetime | None = None,
    ) -> bool:
        with self._lock:
            found = self._shares.get(share_id)
            if found is None or found.state is not expected:
                return False
            moved = replace(found, state=event.state)
            if revoked_at is not None:
                moved = replace(moved, revoked_at=revoked_at)
            self._shares[share_id] = moved
            history = self._events[share_id]
            entry = replace(event, seq=len(history) + 1)
            history.append(entry)
            self._recorded.append((datetime.now(UTC), entry))
            return True

    def events(self, share_id: str) -> list[ShareEvent]:
        return list(self._events.get(share_id, ()))

    def events_since(self, after: datetime, state: ShareState) -> list[ShareEvent]:
        return [e for at, e in self._recorded if at > after and e.state is state]
