"""The composition root on fakes: :func:`bootstrap_in_memory` calls the production
:func:`carprivacy.bootstrap.bootstrap` with every store swapped for its in-memory fake, so the
services, the API and the CLI run the same wiring with no database, no key files and no broker.

What stays real: the policy, the signal catalogue, the services themselves, argon2 and tokens,
AES-GCM field encryption (per-owner keys in memory), the notice and register renderers.
"""

from __future__ import annotations

import secrets as random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from carprivacy.bootstrap import Secrets, Services, bootstrap, utc_now
from carprivacy.config import Settings
from carprivacy.domain.monitoring import MonitoringRules
from carprivacy.domain.policy import Policy
from carprivacy.domain.telemetry import QuarantineRow
from carprivacy.testing.audit import InMemoryAuditLogRepository, InMemoryAuditWitness
from carprivacy.testing.automated_decisions import InMemoryAutomatedDecisionRepository
from carprivacy.testing.callers import InMemoryCallerRepository, InMemoryEmailOutbox
from carprivacy.testing.cardata import InMemoryCarDataRepository
from carprivacy.testing.consent_statistics import InMemoryConsentStatistics
from carprivacy.testing.crypto import InMemoryFieldCipher
from carprivacy.testing.database import InMemoryDatabase
from carprivacy.testing.decision_facts import InMemoryDecisionFacts
from carprivacy.testing.exports import FakeTransmitter, InMemoryExportStore
from carprivacy.testing.master import InMemoryMasterData, InMemoryMasterDataUnitOfWork
from carprivacy.testing.monitoring import InMemoryAlertRepository, InMemoryMonitoringWindows
from carprivacy.testing.retention import InMemoryLegalHoldRepository, InMemoryRetentionStore
from carprivacy.testing.rights import InMemoryRectificationLog, InMemoryRightsRequestRepository
from carprivacy.testing.shares import InMemoryShareRepository
from carprivacy.testing.subject_state import InMemorySubjectStateRepository
from carprivacy.testing.telemetry import InMemoryDataKeyRepository, InMemoryTelemetryRepository
from carprivacy.testing.vehicles import (
    InMemoryMasterDataVehicleDirectory,
    InMemoryVehicleCredentialRepository,
)


class InMemoryTelemetryStore(InMemoryTelemetryRepository):
    """The telemetry fake with the quarantine listing of ``carprivacy ingest quarantine``."""

    def quarantine_recent(
        self,
        limit: int | None,
        *,
        source: str | None = None,
        rule: str | None = None,
        since: datetime | None = None,
    ) -> list[tuple[int, QuarantineRow]]:
        found = [
            (ident, q)
            for ident, q in enumerate(self.quarantine(), start=1)
            if (source is None or q.source == source)
            and (rule is None or any(p.rule == rule for p in q.reasons))
            and (since is None or q.received_at >= since)
        ][::-1]
        return found if limit is None else found[:limit]

    def quarantine_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for q in self.quarantine():
            counts[str(q.source)] = counts.get(str(q.source), 0) + 1
        return dict(sorted(counts.items()))


@dataclass
class InMemoryStores:
    """The fakes behind one in-memory bootstrap, for a test to look into."""

    master: InMemoryMasterData = field(default_factory=InMemoryMasterData)
    subject_states: InMemorySubjectStateRepository = field(
        default_factory=InMemorySubjectStateRepository
    )
    telemetry: InMemoryTelemetryStore = field(default_factory=InMemoryTelemetryStore)
    data_keys: InMemoryDataKeyRepository = field(default_factory=InMemoryDataKeyRepository)
    cipher: InMemoryFieldCipher = field(default_factory=InMemoryFieldCipher)
    audit_log: InMemoryAuditLogRepository = field(default_factory=InMemoryAuditLogRepository)
    audit_witness: InMemoryAuditWitness = field(default_factory=InMemoryAuditWitness)
    alerts: InMemoryAlertRepository = field(default_factory=InMemoryAlertRepository)
    monitoring_windows: InMemoryMonitoringWindows = field(default_factory=InMemoryMonitoringWindows)
    callers: InMemoryCallerRepository = field(default_factory=InMemoryCallerRepository)
    cardata: InMemoryCarDataRepository = field(default_factory=InMemoryCarDataRepository)
    shares: InMemoryShareRepository = field(default_factory=InMemoryShareRepository)
    outbox: InMemoryEmailOutbox = field(default_factory=InMemoryEmailOutbox)
    automated_decisions: InMemoryAutomatedDecisionRepository = field(
        default_factory=InMemoryAutomatedDecisionRepository
    )
    database: InMemoryDatabase = field(default_factory=InMemoryDatabase)
    legal_holds: InMemoryLegalHoldRepository = field(default_factory=InMemoryLegalHoldRepository)
    exports: InMemoryExportStore = field(default_factory=InMemoryExportStore)
    transmitter: FakeTransmitter = field(default_factory=FakeTransmitter)
    rights_requests: InMemoryRightsRequestRepository = field(
        default_factory=InMemoryRightsRequestRepository
    )
    rectifications: InMemoryRectificationLog = field(default_factory=InMemoryRectificationLog)


def in_memory_secrets() -> Secrets:
    return Secrets(
        audit_seed=random.token_bytes(32),
        token_key=random.token_bytes(32),
        pseudonym_key=random.token_bytes(32),
    )


def bootstrap_in_memory(
    settings: Settings | None = None,
    *,
    policy: Policy | None = None,
    clock: Callable[[], datetime] = utc_now,
    stores: InMemoryStores | None = None,
    monitoring_rules: MonitoringRules | None = None,
) -> Services:
    """Every service of :func:`~carprivacy.bootstrap.bootstrap`, on in-memory fakes.

    ``settings`` default: the defaults with a data directory nobody writes to (nothing here
    touches it; give a real one for the MQTT worker's or the key rotation's files). ``stores``:
    pass an :class:`InMemoryStores` to look at (or pre-fill) the fakes.
    """
    settings = settings or Settings(data_dir=Path("/nonexistent/carprivacy-in-memory"))
    s = stores or InMemoryStores()
    master = s.master
    return bootstrap(
        settings,
        policy=policy,
        clock=clock,
        secrets=in_memory_secrets(),
        cipher=s.cipher,
        data_keys=s.data_keys,
        database=s.database,
        master_unit_of_work=lambda: InMemoryMasterDataUnitOfWork(master, s.subject_states),
        decision_facts=InMemoryDecisionFacts(s.subject_states, master, s.shares),
        telemetry=s.telemetry,
        vehicles=InMemoryMasterDataVehicleDirectory(master),
        subject_states=s.subject_states,
        vehicle_credentials=InMemoryVehicleCredentialRepository(master),
        audit_log=s.audit_log,
        audit_witness=s.audit_witness,
        alerts=s.alerts,
        monitoring_windows=s.monitoring_windows,
        monitoring_rules=monitoring_rules or MonitoringRules(),
        callers=s.callers,
        outbox=s.outbox,
        automated_decisions=s.automated_decisions,
        cardata=s.cardata,
        shares=s.shares,
        retention_store=InMemoryRetentionStore(s.telemetry, master, s.legal_holds),
        consent_statistics=InMemoryConsentStatistics(s.subject_states),
        legal_holds=s.legal_holds,
        rights={
            # no erasure store in memory: an erasure request stays in progress (ConflictError)
            "erasure": None,
            "export_store": s.exports,
            "transmitter": s.transmitter,
            "requests": s.rights_requests,
            "rectifications": s.rectifications,
        },
    )
