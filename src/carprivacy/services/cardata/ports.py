"""The ports of the CarData room (SPEC C2, U1): where client ids, device grants, refresh tokens,
containers, call counts, third parties and shares are kept. Every write that decides something
(a grant answered, a grant used, a refresh token rotated, a call counted, a share revoked) is one
atomic statement, so that it holds however many processes serve the API."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Protocol

from carprivacy.domain.cardata import (
    CarDataClient,
    Container,
    DeviceGrant,
    GrantStatus,
    RefreshToken,
)
from carprivacy.domain.cardata_stream import Provisioned, Step, StreamCredential
from carprivacy.domain.shares import Share, ShareEvent, ShareRequest, ShareState, ThirdParty


class AuthorisationRepository(Protocol):
    def add_client(self, client: CarDataClient) -> None: ...

    def client(self, client_id: str) -> CarDataClient | None: ...

    def clients_of(self, owner_id: str) -> list[CarDataClient]:
        """The person's clients, oldest first."""
        ...

    def delete_client(self, client_id: str) -> bool:
        """Remove the client and revoke its grants (their tokens stop); False when unknown."""
        ...

    def add_grant(self, grant: DeviceGrant) -> None:
        """Store a new grant; ConflictError when its device or user code hash is taken."""
        ...

    def grant(self, grant_id: str) -> DeviceGrant | None: ...

    def grant_by_device_code(self, device_code_hash: str) -> DeviceGrant | None: ...

    def grant_by_user_code(self, user_code_hash: str) -> DeviceGrant | None: ...

    def record_poll(self, grant_id: str, at: datetime, interval: int) -> None: ...

    def set_status(
        self, grant_id: str, expected: GrantStatus, status: GrantStatus, gcid: str | None = None
    ) -> bool:
        """Atomically move the grant from ``expected`` to ``status`` (with the account id the
        tokens will name); False when it was no longer ``expected`` (answered or used by a
        concurrent request)."""
        ...

    def add_refresh_token(self, token: RefreshToken) -> None: ...

    def use_refresh_token(self, token_hash: str) -> RefreshToken | None:
        """Atomically mark the refresh token used and return it as it was (``used`` tells
        whether it had been used already); None when unknown."""
        ...


class ContainerRepository(Protocol):
    def add_container(self, container: Container) -> None: ...

    def container(self, container_id: str) -> Container | None: ...

    def containers_of(self, owner_id: str) -> list[Container]:
        """The person's containers, deleted ones too, oldest first."""
        ...

    def delete_container(self, container_id: str) -> bool:
        """Mark it deleted; False when unknown or already deleted."""
        ...


class CallCounter(Protocol):
    def count_call(
        self, keys: Sequence[str], window_opened_after: datetime, at: datetime
    ) -> list[tuple[int, datetime]]:
        """Atomically count one call of each of ``keys`` (keyed hashes, never a client or
        account id), in one transaction, and return per key the calls of its window so far and
        when the window opened. A window opened at or before ``window_opened_after`` is over:
        the call opens a new one at ``at``."""
        ...


# -- the stream ------------------------------------------------------------------------------------


class StreamCredentialRepository(Protocol):
    def save_credential(self, credential: StreamCredential) -> None:
        """Keep ``credential`` as its account's current one (the newest issued wins)."""
        ...

    def credentials(self) -> list[StreamCredential]:
        """Every account's current stream credential, expired ones too, by account id."""
        ...


class StreamBroker(Protocol):
    """The broker's own access control (Mosquitto's dynamic security plugin in production)."""

    def held(self, usernames: Collection[str]) -> dict[str, Provisioned]:
        """What the broker holds of these stream accounts (the others are not ours)."""
        ...

    def provision(self, username: str, password: str, vins: Collection[str]) -> None:
        """Create or update the account with this password (closing its connections with an
        older one), receiving ``vins``; disabled while ``vins`` is empty."""
        ...

    def apply(self, steps: Sequence[Step]) -> None: ...

    def setup(self) -> None:
        """The broker's fixed part (default refusal, the publishing account); idempotent."""
        ...

    def close(self) -> None:
        """Leave the broker (a later call connects again)."""
        ...


class StreamOutlet(Protocol):
    """The one publishing connection of a process to the stream broker."""

    def publish(self, topic: str, payload: bytes) -> None: ...

    def close(self) -> None:
        """Leave the broker (a later publish connects again)."""
        ...


class StreamConnectionLimit(Protocol):
    """Closes an account's stream connections past the configured number, while it runs."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


class ShareRepository(Protocol):
    """Registered third parties, their CarData clients' share requests, shares and their
    append-only history (``domain/shares.py``)."""

    def add_party(self, party: ThirdParty) -> None:
        """ConflictError when the id is taken."""
        ...

    def party(self, party_id: str) -> ThirdParty | None: ...

    def parties(self) -> list[ThirdParty]: ...

    def add_request(self, request: ShareRequest) -> None: ...

    def request_of(self, client_id: str) -> ShareRequest | None:
        """The share request of a third party's CarData client; None for a customer's own."""
        ...

    def add_share(self, share: Share, event: ShareEvent) -> None:
        """Store a share with its first history entry, in one transaction."""
        ...

    def share(self, share_id: str) -> Share | None: ...

    def shares(
        self,
        *,
        subject_id: str | None = None,
        party: str | None = None,
        vehicle_id: str | None = None,
        grant_id: str | None = None,
    ) -> list[Share]:
        """Shares matching every given filter, oldest first."""
        ...

    def move(
        self,
        share_id: str,
        expected: ShareState,
        event: ShareEvent,
        revoked_at: datetime | None = None,
    ) -> bool:
        """Atomically move the share from ``expected`` to ``event.state`` and append ``event``
        to its history; False when it was no longer ``expected``."""
        ...

    def events(self, share_id: str) -> list[ShareEvent]:
        """The share's history, in order."""
        ...

    def events_since(self, after: datetime, state: ShareState) -> list[ShareEvent]:
        """History entries into ``state`` recorded after ``after`` (the wall-clock time they
        were written, e.g. revocations), in order."""
        ...
