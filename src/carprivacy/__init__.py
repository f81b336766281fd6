"""carprivacy: a connected-car data platform that enforces its privacy notice in code.

The public surface is small and deliberate: the version and the exception tree (drawn in
``carprivacy.domain.errors``). The in-memory fakes of every port are in ``carprivacy.testing``.
Importing ``carprivacy`` connects to nothing and loads no framework (standard library only).
"""

from carprivacy.domain.errors import (
    AccessDeniedError,
    AuditChainConflictError,
    AuthenticationError,
    BackupError,
    CarPrivacyError,
    CiphertextError,
    ConflictError,
    CryptoError,
    IngestBusyError,
    InvalidInputError,
    KeyDestroyedError,
    MailDeliveryError,
    MalformedPayloadError,
    MasterKeyRetiredError,
    MasterKeyRotationError,
    NotFoundError,
    OAuthGrantError,
    PasswordHashingError,
    PayloadTooLargeError,
    PolicyError,
    Problem,
    RateLimitedError,
    RetentionRunInProgressError,
    RotationError,
    StoreUnavailableError,
    StreamBrokerError,
    UnknownMasterKeyError,
    UnsupportedMediaTypeError,
)

__version__ = "0.1.0"

__all__ = [
    "AccessDeniedError",
    "AuditChainConflictError",
    "AuthenticationError",
    "BackupError",
    "CarPrivacyError",
    "CiphertextError",
    "ConflictError",
    "CryptoError",
    "IngestBusyError",
    "InvalidInputError",
    "KeyDestroyedError",
    "MailDeliveryError",
    "MalformedPayloadError",
    "MasterKeyRetiredError",
    "MasterKeyRotationError",
    "NotFoundError",
    "OAuthGrantError",
    "PasswordHashingError",
    "PayloadTooLargeError",
    "PolicyError",
    "Problem",
    "RateLimitedError",
    "RetentionRunInProgressError",
    "RotationError",
    "StoreUnavailableError",
    "StreamBrokerError",
    "UnknownMasterKeyError",
    "UnsupportedMediaTypeError",
    "__version__",
]
