"""In-memory CarData store: client ids, device grants, refresh tokens, containers, call counts
(the ports of ``services/cardata/ports.py``). Honest: codes are unique, every deciding write is
conditional under one lock, as the SQL store's single statements are."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from carprivacy.domain.cardata import (
    CarDataClient,
    Container,
    DeviceGrant,
    GrantStatus,
    RefreshToken,
)
from carprivacy.domain.errors import ConflictError


class InMemoryCarDataRepository:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.clients: dict[str, CarDataClient] = {}
        self.grants: dict[str, DeviceGrant] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.containers: dict[str, Container] = {}
        self.calls: dict[str, tuple[int, datetime]] = {}

    # -- clients -----------------------------------------------------------------------------
    def add_client(self, client: CarDataClient) -> None:
        with self._lock:
            if client.id in self.clients:
                raise ConflictError("a client with this id exists")
            self.clients[client.id] = client

    def client(self, client_id: str) -> CarDataClient | None:
        return self.clients.get(client_id)

    def clients_of(self, owner_id: str) -> list[CarDataClient]:
        found = [c for c in self.clients.values() if c.owner_id == owner_id]
        return sorted(found, key=lambda c: (c.created_at, c.id))

    def delete_client(self, client_id: str) -> bool:
        with self._lock:
            for grant in list(self.grants.values()):
                if grant.client_id == client_id:
                    self.grants[grant.id] = replace(grant, status=GrantStatus.REVOKED)
            return self.clients.pop(client_id, None) is not None

    # -- grants ------------------------------------------------------------------------------
    def add_grant(self, grant: DeviceGrant) -> None:
        with self._lock:
            for held in self.grants.values():
                if (
                    grant.id == held.id
                    or grant.device_code_hash == held.device_code_hash
                    or (grant.user_code_hash == held.user_code_hash)
                ):
                    raise ConflictError("a grant with this code exists")
            self.grants[grant.id] = grant

    def grant(self, grant_id: str) -> DeviceGrant | None:
        return self.grants.get(grant_id)

    def grant_by_device_code(self, device_code_hash: str) -> DeviceGrant | None:
        return next(
            (g for g in self.grants.values() if g.device_code_hash == device_code_hash), None
        )

    def grant_by_user_code(self, user_code_hash: str) -> DeviceGrant | None:
        return next((g for g in self.grants.values() if g.user_code_hash == user_code_hash), None)

    def record_poll(self, grant_id: str, at: datetime, interval: int) -> None:
        with self._lock:
            grant = self.grants.get(grant_id)
            if grant is not None:
                self.grants[grant_id] = replace(grant, last_poll_at=at, interval=interval)

    def set_status(
        self, grant_id: str, expected: GrantStatus, status: GrantStatus, gcid: str | None = None
    ) -> bool:
        with self._lock:
            grant = self.grants.get(grant_id)
            if grant is None or grant.status is not expected:
                return False
            self.grants[grant_id] = replace(grant, status=status, gcid=gcid or grant.gcid)
            return True

    # -- refresh tokens ----------------------------------------------------------------------
    def add_refresh_token(self, token: RefreshToken) -> None:
        with self._lock:
            self.refresh_tokens[token.token_hash] = token

    def use_refresh_token(self, token_hash: str) -> RefreshToken | None:
        with self._lock:
            token = self.refresh_tokens.get(token_hash)
            if token is None:
                return None
            self.refresh_tokens[token_hash] = replace(token, used=True)
            return token

    # -- containers --------------------------------------------------------------------------
    def add_container(self, container: Container) -> None:
        with self._lock:
            self.containers[container.id] = container

    def container(self, container_id: str) -> Container | None:
        return self.containers.get(container_id)

    def containers_of(self, owner_id: str) -> list[Container]:
        found = [c for c in self.containers.values() if c.owner_id == owner_id]
        return sorted(found, key=lambda c: (c.created_at, c.id))

    def delete_container(self, container_id: str) -> bool:
        with self._lock:
            held = self.containers.get(container_id)
            if held is None or held.deleted:
                return False
            self.containers[container_id] = replace(held, deleted=True)
            return True

    # -- call counts -------------------------------------------------------------------------
    def count_call(
        self, keys: Sequence[str], window_opened_after: datetime, at: datetime
    ) -> list[tuple[int, datetime]]:
        with self._lock:
            for other, (_, start) in list(self.calls.items()):
                if other not in keys and start <= window_opened_after:
                    del self.calls[other]
            counted = []
            for key in keys:
                calls, start = self.calls.get(key, (0, at))
                if start <= window_opened_after:
                    calls, start = 0, at
                self.calls[key] = (calls + 1, start)
                counted.append((calls + 1, start))
            return counted
