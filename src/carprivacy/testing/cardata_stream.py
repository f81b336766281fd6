"""In-memory fakes of the CarData stream's ports, for tests without a database or a broker:
credentials (the newest of an account replaces the older), the broker's plugin, the publishing
connection and the connection limit."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from carprivacy.domain.cardata_stream import Action, Provisioned, Step, StreamCredential, apply


class InMemoryStreamCredentialRepository:
    def __init__(self) -> None:
        self._rows: dict[str, StreamCredential] = {}

    def save_credential(self, credential: StreamCredential) -> None:
        self._rows[credential.gcid] = credential

    def credentials(self) -> list[StreamCredential]:
        return [self._rows[k] for k in sorted(self._rows)]


class InMemoryStreamBroker:
    """The ``StreamBroker`` port as the plugin behaves: an account per username with its password
    and VINs, disabled while it may receive nothing; ``closed`` counts the times an account's
    connections were closed (a new password, a VIN revoked, disabled, deleted)."""

    def __init__(self) -> None:
        self.accounts: dict[str, Provisioned] = {}
        self.passwords: dict[str, str] = {}
        self.closed: dict[str, int] = {}
        self.ready = False

    def setup(self) -> None:
        self.ready = True

    def held(self, usernames: Collection[str]) -> dict[str, Provisioned]:
        return {u: p for u, p in self.accounts.items() if u in usernames}

    def provision(self, username: str, password: str, vins: Collection[str]) -> None:
        if username in self.passwords:
            self._close(username)
        self.passwords[username] = password
        old = self.accounts.get(username, Provisioned(frozenset(), True)).vins
        self.accounts[username] = Provisioned(old | frozenset(vins), bool(vins))

    def apply(self, steps: Sequence[Step]) -> None:
        closing = {
            s.username for s in steps if s.action in (Action.REVOKE, Action.DISABLE, Action.DELETE)
        }
        for username in sorted(closing):  # one batch closes an account's connections once
            self._close(username)
        for step in steps:
            if step.action is Action.DELETE:
                self.passwords.pop(step.username, None)
        self.accounts = apply(self.accounts, steps)

    def close(self) -> None:
        pass

    def accepts(self, username: str, password: str) -> bool:
        """Whether a connection with these credentials would be accepted now."""
        state = self.accounts.get(username)
        return state is not None and state.enabled and self.passwords.get(username) == password

    def _close(self, username: str) -> None:
        self.closed[username] = self.closed.get(username, 0) + 1


class InMemoryStreamOutlet:
    """The ``StreamOutlet`` port: what was published, in order."""

    def __init__(self) -> None:
        self.published: list[tuple[str, bytes]] = []

    def publish(self, topic: str, payload: bytes) -> None:
        self.published.append((topic, payload))

    def close(self) -> None:
        pass


class InMemoryStreamConnectionLimit:
    """The ``StreamConnectionLimit`` port: whether it runs."""

    def __init__(self) -> None:
        self.running = False

    def start(self) -> None:
        self.running = True

    def stop(self) -> None:
        self.running = False
