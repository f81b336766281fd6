"""In-memory stream credentials (the ``StreamCredentialRepository`` port), for tests without a
database: the newest credential of an account replaces the older one."""

from __future__ import annotations

from carprivacy.domain.cardata_stream import StreamCredential


class InMemoryStreamCredentialRepository:
    def __init__(self) -> None:
        self._rows: dict[str, StreamCredential] = {}

    def save_credential(self, credential: StreamCredential) -> None:
        self._rows[credential.gcid] = credential

    def credentials(self) -> list[StreamCredential]:
        return [self._rows[k] for k in sorted(self._rows)]
