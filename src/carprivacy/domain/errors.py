"""The carprivacy exception tree. Every error names the requirement or article it protects.

Every exception raised by carprivacy derives from :class:`CarPrivacyError`; adapters turn the
errors of their libraries (cryptography, PyJWT, argon2, SQLAlchemy, paho) into these at the
boundary, so a caller never has to catch a dependency's error. HTTP answers are mapped in one
place: ``carprivacy.entrypoints.api.errors``.

    CarPrivacyError
    │
    ├── PolicyError                   the policy file is invalid (P7)
    │
    │   # what a caller sent
    ├── InvalidInputError             bad input: names the field and the rule (422)
    │   ├── MalformedPayloadError     a body that does not parse as a whole (400; I1)
    │   ├── PayloadTooLargeError      a body larger than the limit, which it names (413; I1)
    │   └── UnsupportedMediaTypeError a media type or Content-Encoding not taken (415; I1)
    │
    │   # stored state
    ├── NotFoundError                 unknown id (404)
    ├── ConflictError                 the operation contradicts stored state (409)
    │   ├── AuditChainConflictError   another writer appended to the audit log first (U3)
    │   └── RetentionRunInProgressError  another retention run holds the lock (L2)
    │
    │   # who asks, and may they
    ├── AuthenticationError           no or bad credentials, a bad or expired token (401; U1)
    ├── AccessDeniedError             the policy engine refused (403; U1-U3); carries the reasons
    ├── RateLimitedError              too many calls in a window; says when to retry (429; C2)
    ├── OAuthGrantError               a token or device-code request refused with an RFC 6749
    │                                 error code (400, or 401 for invalid_client; U1)
    │
    │   # keys and ciphertexts
    ├── KeyDestroyedError             the owner's data key was shredded: the data is gone (410; R3)
    ├── CryptoError                   key material or a ciphertext cannot be used (I3)
    │   ├── CiphertextError           altered, or another owner's or place's ciphertext (I3)
    │   │   └── UnknownMasterKeyError a data key names a master key that is not loaded (I3)
    │   ├── MasterKeyRetiredError     a new data key would be wrapped by a retired key (I3)
    │   ├── RotationError             a master key rotation cannot go on (I3)
    │   │   └── MasterKeyRotationError  as the composition root reports it (stopped or not)
    │   └── PasswordHashingError      a password could not be hashed (U1)
    │
    │   # the services around us
    ├── StoreUnavailableError         the database is down: nothing committed, retry (503; I1)
    ├── IngestBusyError               the process's ingestion queue is full: nothing taken, retry
    │                                 after the seconds it names (503 with Retry-After; I1)
    ├── StreamBrokerError             the CarData stream broker did not answer or refused (C2)
    ├── MailDeliveryError             the mail server refused or could not be reached (U1)
    └── BackupError                   a backup or restore could not be made (R3)

Messages never contain personal data: they name fields, rules and ids, not values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class CarPrivacyError(Exception):
    requirement: str = ""


@dataclass(frozen=True)
class Problem:
    """One problem: where (a field or YAML path), which rule, and a message."""

    path: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: [{self.rule}] {self.message}"


class PolicyError(CarPrivacyError):
    requirement = "P7"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


# -- what a caller sent ---------------------------------------------------------------------------
class InvalidInputError(CarPrivacyError):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


class MalformedPayloadError(InvalidInputError):
    """The body as a whole does not parse (not UTF-8, not JSON); names where it broke, never
    what it held. ``line``/``column`` count from 1, ``position`` characters from 0."""

    requirement = "I1"

    def __init__(
        self,
        detail: str,
        *,
        line: int | None = None,
        column: int | None = None,
        position: int | None = None,
    ) -> None:
        self.detail = detail
        self.line = line
        self.column = column
        self.position = position
        super().__init__([Problem("body", "malformed", detail)])


class PayloadTooLargeError(InvalidInputError):
    """The body is larger than ``limit_bytes`` (the configured ``max_payload_bytes``)."""

    requirement = "I1"

    def __init__(self, detail: str, limit_bytes: int) -> None:
        self.detail = detail
        self.limit_bytes = limit_bytes
        super().__init__([Problem("body", "max_bytes", detail)])


class UnsupportedMediaTypeError(InvalidInputError):
    """The body's media type, or its ``header`` (e.g. ``Content-Encoding``), is not one the
    endpoint takes; ``accepted`` lists those it does (when it says so)."""

    requirement = "I1"

    def __init__(
        self, detail: str, *, accepted: Sequence[str] | None = None, header: str | None = None
    ) -> None:
        self.detail = detail
        self.accepted = tuple(accepted) if accepted is not None else None
        self.header = header
        super().__init__([Problem(header or "Content-Type", "media_type", detail)])


# -- stored state ---------------------------------------------------------------------------------
class NotFoundError(CarPrivacyError):
    def __init__(self, kind: str, ident: str) -> None:
        self.kind = kind
        self.ident = ident
        super().__init__(f"{kind} {ident!r} not found")


class ConflictError(CarPrivacyError):
    pass


class AuditChainConflictError(ConflictError):
    """Another writer appended first (the seq is taken): re-read the head and retry."""

    requirement = "U3"


class RetentionRunInProgressError(ConflictError):
    """Another retention run holds the run lock (one at a time, so that its report is whole);
    the lock dies with its process, so a killed run never blocks the next."""

    requirement = "L2"


# -- who asks, and may they -----------------------------------------------------------------------
class AuthenticationError(CarPrivacyError):
    requirement = "U1"


class AccessDeniedError(CarPrivacyError):
    requirement = "U1"

    def __init__(self, message: str, reasons: tuple[str, ...] = ()) -> None:
        self.reasons = reasons
        super().__init__(message)


class RateLimitedError(CarPrivacyError):
    """Too many calls in the quota's window (a client's or an account's); ``retry_after`` is
    in whole seconds, ``limit`` the calls a window allows."""

    requirement = "C2"

    def __init__(self, message: str, retry_after: int, limit: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.limit = limit


class OAuthGrantError(CarPrivacyError):
    """An OAuth request refused with its RFC 6749 / RFC 8628 error code (``invalid_grant``,
    ``authorization_pending``, ``slow_down``, ``expired_token``, ``access_denied``,
    ``invalid_client``, ``invalid_request``, ``invalid_scope``, ``unsupported_grant_type``,
    ``unsupported_response_type``). The description names fields, never a code's value."""

    requirement = "U1"

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description


# -- keys and ciphertexts -------------------------------------------------------------------------
class KeyDestroyedError(CarPrivacyError):
    """The owner's data key was destroyed (crypto-shredding, Art. 17): its data is unreadable."""

    requirement = "R3"

    def __init__(self, message: str = "the data key of this owner was destroyed") -> None:
        super().__init__(message)


class CryptoError(CarPrivacyError):
    """Key material or a ciphertext cannot be used (the rule is in the message, no secret)."""

    requirement = "I3"


class CiphertextError(CryptoError, ValueError):
    """The ciphertext was altered or belongs to another owner or place.

    Also a ``ValueError``: a value that does not decrypt is a bad value, and code that compares
    stored values treats it as one (not the same record)."""


class UnknownMasterKeyError(CiphertextError):
    """A data key names a master key id that neither the key file nor its ``.next`` holds."""

    def __init__(self, message: str, master_key_id: str) -> None:
        super().__init__(message)
        self.master_key_id = master_key_id


class MasterKeyRetiredError(CryptoError):
    """A new data key would be wrapped by a retired master key (I3): restart the process with
    the new master key (``CARPRIVACY_MASTER_KEY``) or finish the rotation."""


class RotationError(CryptoError):
    """The rotation cannot go on (the rule is in the message)."""


class MasterKeyRotationError(RotationError):
    """A master-key rotation could not go on (``stopped=False``: nothing changed) or stopped
    part-way (``stopped=True``: keys re-wrapped so far are under the new key; running it again
    finishes). The message names key ids only, never an owner."""

    def __init__(self, message: str, *, stopped: bool) -> None:
        super().__init__(message)
        self.stopped = stopped


class PasswordHashingError(CryptoError):
    """A password could not be hashed (the hasher failed; the password is never named)."""

    requirement = "U1"


# -- the services around us ------------------------------------------------------------------------
class StoreUnavailableError(CarPrivacyError):
    """Neither ingest nor quarantine could commit: the database is down. Retry later, do not
    acknowledge (acknowledged = durable). ``args[0]``, when given, holds what is still pending."""

    requirement = "I1"


class IngestBusyError(CarPrivacyError):
    """This process already holds as many uploads as it may queue: the upload was not taken
    (nothing stored), answered at once instead of waiting behind the queue. ``retry_after``:
    whole seconds, the time the queue ahead is expected to take."""

    requirement = "I1"

    def __init__(self, queued_records: int, retry_after: int) -> None:
        super().__init__(f"ingestion queue full ({queued_records} records waiting)")
        self.queued_records = queued_records
        self.retry_after = retry_after


class StreamBrokerError(CarPrivacyError):
    """The CarData stream's broker did not answer, or refused a command it must take (its
    dynamic security plugin). Messages name the command, never an account."""

    requirement = "C2"


class MailDeliveryError(CarPrivacyError):
    """The mail transport could not hand a message over (refused, unreachable, TLS or AUTH
    failed). The message names the kind of failure only: never the address or the body."""

    requirement = "U1"


class BackupError(CarPrivacyError):
    """A backup or restore could not be made (the tool failed, the file is not a backup); the
    message names the tool and its last line, never a connection string (CLI only)."""

    requirement = "R3"
