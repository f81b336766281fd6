"""The composition root: the only place that wires adapters into services.

Nothing connects at import time; ``build_container`` is called by the API factory and the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from carprivacy.adapters.db.engine import make_engine
from carprivacy.config import Settings, load_settings
from carprivacy.domain.policy import Policy
from carprivacy.services.master.service import MasterDataService
from carprivacy.services.ports.crypto import FieldCipher

if TYPE_CHECKING:
    from carprivacy.adapters.crypto.envelope import EnvelopeCipher
    from carprivacy.adapters.db.repositories.telemetry import SqlTelemetryRepository
    from carprivacy.domain.signals import SignalCatalogue
    from carprivacy.services.access.automated_decisions import AutomatedDecisionService
    from carprivacy.services.access.decisions import DecisionService
    from carprivacy.services.access.disclosure import Disclosure
    from carprivacy.services.access.gate import Gate
    from carprivacy.services.audit.monitoring import MonitoringService
    from carprivacy.services.audit.trail import AuditService
    from carprivacy.services.consent.subject_state import SubjectStateService
    from carprivacy.services.identity.callers import CallerService
    from carprivacy.services.ingestion.pipeline import IngestService
    from carprivacy.services.ingestion.vehicle_credentials import VehicleCredentialService
    from carprivacy.services.ingestion.workshop import WorkshopCollector


@dataclass
class Container:
    settings: Settings
    engine: Engine
    policy: Policy
    # Services wired per capability; see build_container.
    services: dict[str, Any] = field(default_factory=dict)
    _master: MasterDataService | None = field(default=None, init=False, repr=False)
    catalogue: SignalCatalogue | None = None  # the signal catalogue, checked against the policy
    _cipher: EnvelopeCipher | None = field(default=None, init=False, repr=False)
    _ingest: IngestService | None = field(default=None, init=False, repr=False)
    _vehicle_credentials: VehicleCredentialService | None = field(
        default=None, init=False, repr=False
    )
    _workshop: WorkshopCollector | None = field(default=None, init=False, repr=False)

    @property
    def cipher(self) -> EnvelopeCipher:
        """Envelope encryption: per-owner data keys under the master key, which
        is read (or, on first run, created) when first needed, and read again when a rotation
        in another process changed it (docs/adr/master-key-rotation.md)."""
        if self._cipher is None:
            from functools import partial

            from carprivacy.adapters.crypto.envelope import EnvelopeCipher
            from carprivacy.adapters.crypto.master_key import load_master_key
            from carprivacy.adapters.db.repositories.data_keys import SqlDataKeyRepository

            self._cipher = EnvelopeCipher(
                SqlDataKeyRepository(self.engine), partial(load_master_key, self.settings)
            )
        return self._cipher

    @property
    def telemetry(self) -> SqlTelemetryRepository:
        from carprivacy.adapters.db.repositories.telemetry import SqlTelemetryRepository

        return SqlTelemetryRepository(self.engine)

    @property
    def ingest(self) -> IngestService:
        """Telemetry ingestion for every transport (SPEC I1-I3)."""
        if self._ingest is None:
            from datetime import timedelta

            from carprivacy.adapters.catalogue import load_catalogue
            from carprivacy.adapters.db.repositories.subject_state import (
                SqlSubjectStateRepository,
            )
            from carprivacy.adapters.db.repositories.telemetry import SqlVehicleDirectory
            from carprivacy.services.ingestion.pipeline import IngestService

            self.catalogue = self.catalogue or load_catalogue()
            self._ingest = IngestService(
                self.policy,
                self.catalogue,
                self.telemetry,
                SqlVehicleDirectory(self.engine),
                self.cipher,
                max_future_skew=timedelta(seconds=self.settings.max_future_skew_seconds),
                # OBFCM: a refusal stops collection (C3)
                consents=SqlSubjectStateRepository(self.engine, self.cipher),
            )
        return self._ingest

    @property
    def workshop(self) -> WorkshopCollector:
        """Telemetry a workshop uploads, decided by the engine first (source ``workshop``)."""
        if self._workshop is None:
            from carprivacy.adapters.db.repositories.telemetry import SqlVehicleDirectory
            from carprivacy.services.ingestion.workshop import WorkshopCollector

            ingest = self.ingest
            self._workshop = WorkshopCollector(
                self.decisions,
                ingest,
                ingest.catalogue,
                SqlVehicleDirectory(self.engine),
                self.settings.workshop_organisations,
            )
        return self._workshop

    @property
    def vehicle_credentials(self) -> VehicleCredentialService:
        """Per-vehicle bearer tokens for HTTP ingestion."""
        if self._vehicle_credentials is None:
            from carprivacy.adapters.db.repositories.telemetry import (
                SqlVehicleCredentialRepository,
            )
            from carprivacy.services.ingestion.vehicle_credentials import VehicleCredentialService

            self._vehicle_credentials = VehicleCredentialService(
                SqlVehicleCredentialRepository(self.engine), utc_now
            )
        return self._vehicle_credentials

    @property
    def master(self) -> MasterDataService:
        """Master data use cases (SPEC I4) on the SQL store; sensitive columns go through
        ``self.cipher`` (the FieldCipher wired by the crypto adapter)."""
        if self._master is None:
            from carprivacy.adapters.db.repositories.master import SqlMasterDataUnitOfWork

            cipher: FieldCipher = self.cipher
            engine = self.engine
            self._master = MasterDataService(
                lambda: SqlMasterDataUnitOfWork(engine, cipher),
                utc_now,
                controllers={c.id: c.account_owner for c in self.policy.controllers},
            )
        return self._master

    # -- access: callers, audit log, monitoring, automated decisions --------------
    _access: dict[str, Any] = field(default_factory=dict, init=False, repr=False)

    @property
    def callers(self) -> CallerService:
        return self._access_part("callers")  # type: ignore[no-any-return]

    @property
    def audit(self) -> AuditService:
        """The AuditTrail port (hash-chained log); monitoring observes every append."""
        return self._access_part("audit")  # type: ignore[no-any-return]

    @property
    def monitoring(self) -> MonitoringService:
        return self._access_part("monitoring")  # type: ignore[no-any-return]

    @property
    def automated_decisions(self) -> AutomatedDecisionService:
        return self._access_part("automated_decisions")  # type: ignore[no-any-return]

    # -- decisions: the policy engine, subject state, disclosure ------------------
    _decision_parts: dict[str, Any] = field(default_factory=dict, init=False, repr=False)

    @property
    def decisions(self) -> DecisionService:
        """The decision engine over the SQL subject state and master data; audits every call."""
        return self._decision_part("decisions")  # type: ignore[no-any-return]

    @property
    def gate(self) -> Gate[Any]:
        """Every read of personal data: decided, released in its form, audited."""
        return self._decision_part("gate")  # type: ignore[no-any-return]

    @property
    def subject_state(self) -> SubjectStateService:
        return self._decision_part("subject_state")  # type: ignore[no-any-return]

    @property
    def disclosure(self) -> Disclosure:
        return self._decision_part("disclosure")  # type: ignore[no-any-return]

    def _decision_part(self, name: str) -> Any:
        if not self._decision_parts:
            self._decision_parts.update(_build_decisions(self))
        return self._decision_parts[name]

    def _access_part(self, name: str) -> Any:
        if not self._access:
            self._access.update(_build_access(self))
        return self._access[name]

    def close(self) -> None:
        self.engine.dispose()


def utc_now() -> datetime:
    return datetime.now(UTC)


def _build_decisions(container: Container) -> dict[str, Any]:
    """Decision service, the gate, subject state and disclosure."""
    from carprivacy.adapters.db.repositories.decision_facts import SqlDecisionFacts
    from carprivacy.adapters.db.repositories.master import SqlMasterDataUnitOfWork
    from carprivacy.adapters.db.repositories.subject_state import SqlSubjectStateRepository
    from carprivacy.adapters.keyfile import read_or_create_secret
    from carprivacy.services.access.decisions import DecisionService
    from carprivacy.services.access.disclosure import Disclosure
    from carprivacy.services.access.gate import Gate
    from carprivacy.services.consent.subject_state import SubjectStateService

    engine, cipher = container.engine, container.cipher
    state = SqlSubjectStateRepository(engine, cipher)
    secret, _ = read_or_create_secret(container.settings.data_dir / "pseudonym.key")
    decisions = DecisionService(container.policy, SqlDecisionFacts(engine, cipher), container.audit)
    return {
        "decisions": decisions,
        "gate": Gate(
            container.policy,
            decisions,
            lambda: SqlMasterDataUnitOfWork(engine, cipher),
            secret,
            utc_now,
        ),
        "subject_state": SubjectStateService(container.policy, state),
        "disclosure": Disclosure(container.policy, secret),
    }


def _build_access(container: Container) -> dict[str, Any]:
    """Callers, audit, monitoring and automated decisions on the SQL store."""
    import base64
    import hashlib
    import hmac
    from datetime import timedelta

    from carprivacy.adapters.crypto.passwords import Argon2PasswordHasher
    from carprivacy.adapters.crypto.signing import Ed25519CheckpointSigner
    from carprivacy.adapters.crypto.tokens import JwtTokenSigner
    from carprivacy.adapters.db.repositories import access as repos
    from carprivacy.adapters.db.repositories.callers import SqlCallerRepository
    from carprivacy.adapters.email.outbox import FileEmailOutbox
    from carprivacy.adapters.keyfile import read_or_create_secret
    from carprivacy.adapters.monitoring.rules_file import load_rules
    from carprivacy.services.access.automated_decisions import AutomatedDecisionService
    from carprivacy.services.audit.monitoring import MonitoringService
    from carprivacy.services.audit.trail import AuditService
    from carprivacy.services.identity.callers import CallerService, CallerSettings

    s, engine = container.settings, container.engine
    if s.audit_signing_key is not None:
        seed = base64.urlsafe_b64decode(s.audit_signing_key.get_secret_value())
    else:
        seed, _ = read_or_create_secret(s.data_dir / "audit-signing.key")
    if s.token_secret is not None:
        token_key = hashlib.sha256(s.token_secret.get_secret_value().encode()).digest()
    else:
        token_key, _ = read_or_create_secret(s.data_dir / "token.key")
    pseudonym_key = hmac.new(seed, b"carprivacy audit pseudonyms", hashlib.sha256).digest()
    audit = AuditService(
        repos.SqlAuditLogRepository(engine),
        Ed25519CheckpointSigner(seed),
        pseudonym_key,
        utc_now,
        checkpoint_every=s.audit_checkpoint_every,
    )
    monitoring = MonitoringService(
        repos.SqlAlertRepository(engine), load_rules(s.monitoring_rules_file)
    )
    audit.observers.append(monitoring.observe)
    callers = CallerService(
        SqlCallerRepository(
            engine,
            container.cipher,
            hmac.new(token_key, b"carprivacy caller e-mail lookup", hashlib.sha256).digest(),
        ),
        container.policy,
        FileEmailOutbox(s.data_dir / "outbox"),
        token_key,
        utc_now,
        CallerSettings(token_ttl=timedelta(seconds=s.token_ttl_seconds)),
        passwords=Argon2PasswordHasher(
            time_cost=s.argon2_time_cost, memory_kib=s.argon2_memory_kib
        ),
        tokens=JwtTokenSigner(token_key),
    )
    return {
        "audit": audit,
        "monitoring": monitoring,
        "callers": callers,
        "automated_decisions": AutomatedDecisionService(
            repos.SqlAutomatedDecisionRepository(engine, container.cipher),
            utc_now,
            purposes=frozenset(container.policy.purposes_by_id),
            categories=frozenset(container.policy.categories_by_id),
        ),
    }


def load_policy(settings: Settings) -> Policy:
    from carprivacy.adapters.policy.loader import load_policy_file

    return load_policy_file(settings.policy_path)


def build_container(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    policy: Policy | None = None,
) -> Container:
    settings = settings or load_settings()
    engine = engine or make_engine(settings.resolved_database_url)
    policy = policy or load_policy(settings)
    from carprivacy.adapters.catalogue import load_catalogue

    catalogue = load_catalogue()
    catalogue.check_categories(policy.categories_by_id)  # start-up check
    return Container(settings=settings, engine=engine, policy=policy, catalogue=catalogue)
