"""In-memory fakes of every port, shipped in the package so that users' tests can use them.

Each fake is honest: it keeps what the real adapter keeps and refuses what the real one refuses
(a fake signer detects tampering, a fake cipher fails on another owner's ciphertext), so a test
that passes on a fake says something about the code under test. A test in
``tests/unit/test_public_api.py`` fails when a port of ``services/*/ports.py`` has no fake here.
"""

from __future__ import annotations

from carprivacy.testing.access import FakeDecider
from carprivacy.testing.audit import (
    FakeCheckpointSigner,
    InMemoryAuditLogRepository,
    InMemoryAuditTrail,
    InMemoryAuditWitness,
)
from carprivacy.testing.automated_decisions import InMemoryAutomatedDecisionRepository
from carprivacy.testing.bootstrap import InMemoryStores, InMemoryTelemetryStore, bootstrap_in_memory
from carprivacy.testing.callers import (
    FakePasswordHasher,
    FakeTokenSigner,
    InMemoryCallerRepository,
    InMemoryEmailOutbox,
)
from carprivacy.testing.cardata import InMemoryCarDataRepository
from carprivacy.testing.cardata_stream import (
    InMemoryStreamBroker,
    InMemoryStreamConnectionLimit,
    InMemoryStreamCredentialRepository,
    InMemoryStreamOutlet,
)
from carprivacy.testing.clock import FakeClock
from carprivacy.testing.consent_statistics import InMemoryConsentStatistics
from carprivacy.testing.crypto import InMemoryBatchFieldCipher, InMemoryFieldCipher
from carprivacy.testing.database import InMemoryDatabase
from carprivacy.testing.decision_facts import InMemoryDecisionFacts
from carprivacy.testing.erasure import InMemoryErasureStore, InMemoryShredList
from carprivacy.testing.exports import FakeTransmitter, InMemoryExportStore
from carprivacy.testing.ingest import InMemoryIngestService, StoreDownError
from carprivacy.testing.master import (
    InMemoryAccountRepository,
    InMemoryContractRepository,
    InMemoryCustomerRepository,
    InMemoryEntityRepository,
    InMemoryFleetRepository,
    InMemoryMasterDataUnitOfWork,
    InMemoryPaymentRepository,
    InMemoryUsageRepository,
    InMemoryVehicleRepository,
)
from carprivacy.testing.monitoring import (
    InMemoryAlertRepository,
    InMemoryMonitoringWindows,
    InMemoryWindowSession,
)
from carprivacy.testing.requests_overview import InMemoryRequestsOverview
from carprivacy.testing.retention import InMemoryLegalHoldRepository, InMemoryRetentionStore
from carprivacy.testing.rights import (
    FakeErasureExecutor,
    InMemoryRectificationLog,
    InMemoryRightsRequestRepository,
)
from carprivacy.testing.rotation import FakeMasterKeyRotation
from carprivacy.testing.shares import InMemoryShareRepository
from carprivacy.testing.subject_state import (
    InMemoryMasterFacts,
    InMemoryNoticeAddress,
    InMemorySubjectStateRepository,
)
from carprivacy.testing.telemetry import (
    InMemoryDataKeyRepository,
    InMemoryTelemetryRepository,
    InMemoryVehicleDirectory,
)
from carprivacy.testing.vehicles import (
    InMemoryMasterDataVehicleDirectory,
    InMemoryVehicleCredentialRepository,
)

__all__ = [
    "FakeCheckpointSigner",
    "FakeClock",
    "FakeDecider",
    "FakeErasureExecutor",
    "FakeMasterKeyRotation",
    "FakePasswordHasher",
    "FakeTokenSigner",
    "FakeTransmitter",
    "InMemoryAccountRepository",
    "InMemoryAlertRepository",
    "InMemoryAuditLogRepository",
    "InMemoryAuditTrail",
    "InMemoryAuditWitness",
    "InMemoryAutomatedDecisionRepository",
    "InMemoryBatchFieldCipher",
    "InMemoryCallerRepository",
    "InMemoryCarDataRepository",
    "InMemoryConsentStatistics",
    "InMemoryShareRepository",
    "InMemoryContractRepository",
    "InMemoryCustomerRepository",
    "InMemoryDataKeyRepository",
    "InMemoryDatabase",
    "InMemoryDecisionFacts",
    "InMemoryEmailOutbox",
    "InMemoryErasureStore",
    "InMemoryShredList",
    "InMemoryEntityRepository",
    "InMemoryExportStore",
    "InMemoryFieldCipher",
    "InMemoryFleetRepository",
    "InMemoryIngestService",
    "InMemoryMasterDataUnitOfWork",
    "InMemoryMasterDataVehicleDirectory",
    "InMemoryMasterFacts",
    "InMemoryMonitoringWindows",
    "InMemoryPaymentRepository",
    "InMemoryLegalHoldRepository",
    "InMemoryRectificationLog",
    "InMemoryRequestsOverview",
    "InMemoryRetentionStore",
    "InMemoryRightsRequestRepository",
    "InMemoryStores",
    "InMemoryStreamBroker",
    "InMemoryStreamConnectionLimit",
    "InMemoryStreamCredentialRepository",
    "InMemoryStreamOutlet",
    "InMemoryNoticeAddress",
    "InMemorySubjectStateRepository",
    "InMemoryTelemetryRepository",
    "InMemoryTelemetryStore",
    "InMemoryUsageRepository",
    "InMemoryVehicleCredentialRepository",
    "InMemoryVehicleDirectory",
    "InMemoryVehicleRepository",
    "InMemoryWindowSession",
    "StoreDownError",
    "bootstrap_in_memory",
]
