"""The ports of the rights-request workflow (SPEC R1-R8; Art. 12, 15-21 GDPR).

- :class:`RightsRequestRepository`: the requests, with what each asks (``details``) and what was
  done (``outcome``); both hold personal data and are kept sealed under the person's key.
- :class:`RectificationLog`: the history of every field a rectification changed (old and new
  value, sealed), per subject.
- :class:`ErasureExecutor`: what carries out an erasure (Art. 17). The workflow verifies, records
  and tells; the executor judges every record against the exemptions, destroys the key and purges,
  and says what it kept and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from carprivacy.domain.request_workflow import DataSubjectRequest, RequestState


@dataclass(frozen=True)
class EmailCode:
    """A pending e-mail verification code: its keyed hash, expiry and attempts left."""

    digest: str
    expires_at: datetime
    attempts_left: int


@dataclass(frozen=True)
class StoredRequest:
    """A request with what it asks and, once handled, what was done."""

    request: DataSubjectRequest
    details: Mapping[str, Any] = field(default_factory=dict)
    outcome: Mapping[str, Any] = field(default_factory=dict)
    language: str = "nl"
    code: EmailCode | None = None
    sealed_erased: bool = False  # the person's key is destroyed: details and reasons unreadable


@dataclass(frozen=True)
class RequestFilter:
    subject_id: str | None = None
    state: RequestState | None = None
    open_only: bool = False
    due_before: datetime | None = None  # open requests due by this instant
    limit: int = 100
    offset: int = 0


class RightsRequestRepository(Protocol):
    def add(self, stored: StoredRequest) -> None: ...

    def save(self, stored: StoredRequest) -> None:
        """Replace the stored request (state, history, deadline, outcome, code)."""
        ...

    def get(self, request_id: str) -> StoredRequest | None: ...

    def find(self, query: RequestFilter) -> list[StoredRequest]:
        """Requests matching ``query``, the soonest due first."""
        ...


@dataclass(frozen=True)
class FieldChange:
    """One field a rectification changed."""

    id: str
    subject_id: str
    request_id: str
    record: str  # the record type (``customer``)
    field: str
    old_value: str | None
    new_value: str | None
    at: datetime
    by: str


class RectificationLog(Protocol):
    def add(self, changes: list[FieldChange]) -> None: ...

    def of(self, subject_id: str) -> list[FieldChange]:
        """The subject's changes, oldest first (values opened; None once the key is destroyed)."""
        ...


@dataclass(frozen=True)
class ErasureOutcome:
    """What an erasure did: what it erased, what it kept and why (told to the person)."""

    erased: tuple[str, ...]  # what was erased (category or record set names)
    kept: tuple[tuple[str, str], ...] = ()  # (what, why: the exemption and its article)

    @property
    def partial(self) -> bool:
        return bool(self.kept)


class ErasureExecutor(Protocol):
    def erase(
        self, subject_id: str, *, controller: str, request_id: str, by: str, at: datetime
    ) -> ErasureOutcome:
        """Erase the subject's data held by ``controller`` (Art. 17), except what an exemption
        keeps; idempotent."""
        ...
