"""The composition root: the only place that wires adapters into services.

:func:`bootstrap` takes every dependency as a keyword whose default is the production adapter
(the SQL store, the key files, the policy file, the e-mail outbox) and returns :class:`Services`:
plain attributes, one per use case, built once. Tests call the same function with fakes
(``carprivacy.testing.bootstrap_in_memory`` passes the in-memory ones). Nothing connects at import
time, and building connects to nothing either: the engine opens a connection on first use.

Each service is built by its own ``build_*`` function below, so a change to one constructor is a
change to one function.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

from carprivacy.config import Settings, load_settings
from carprivacy.domain.errors import CarPrivacyError, Problem
from carprivacy.domain.master import AccountKind
from carprivacy.domain.monitoring import MonitoringRules
from carprivacy.domain.policy import Policy
from carprivacy.domain.signals import SignalCatalogue
from carprivacy.services.access.automated_decisions import AutomatedDecisionService
from carprivacy.services.access.decisions import DecisionService
from carprivacy.services.access.disclosure import Disclosure
from carprivacy.services.access.gate import Gate
from carprivacy.services.access.ports import (
    AutomatedDecisionRepository,
    DecisionFacts,
    TelemetryReader,
)
from carprivacy.services.access.telemetry import TelemetryReads
from carprivacy.services.audit.monitoring import MonitoringService
from carprivacy.services.audit.ports import (
    AlertRepository,
    AuditLogRepository,
    AuditWitness,
    MonitoringWindows,
)
from carprivacy.services.audit.trail import AuditService
from carprivacy.services.cardata.authorisation import AuthorisationSettings, CarDataAuthorisation
from carprivacy.services.cardata.customer_api import CustomerApi
from carprivacy.services.cardata.ports import CallCounter
from carprivacy.services.cardata.quota import CallQuota, QuotaSettings
from carprivacy.services.cardata.sharing import Sharing
from carprivacy.services.cardata.stream import CarDataStream
from carprivacy.services.consent.ledger import ConsentLedgerService
from carprivacy.services.consent.ports import SubjectLedger, SubjectStateRepository
from carprivacy.services.consent.subject_state import SubjectStateService
from carprivacy.services.erasure.service import ErasureService
from carprivacy.services.identity.callers import CallerService, CallerSettings
from carprivacy.services.identity.portal_sessions import PortalSessions, SessionLimits
from carprivacy.services.identity.ports import CallerRepository, EmailOutbox
from carprivacy.services.ingestion.pipeline import IngestService
from carprivacy.services.ingestion.ports import (
    ConsentLookup,
    TelemetryRepository,
    VehicleCredentialRepository,
    VehicleDirectory,
)
from carprivacy.services.ingestion.vehicle_credentials import VehicleCredentialService
from carprivacy.services.ingestion.workshop import WorkshopCollector
from carprivacy.services.master.ports import MasterDataUnitOfWork
from carprivacy.services.master.service import MasterDataService
from carprivacy.services.oversight.consent_statistics import ConsentStatisticsService
from carprivacy.services.oversight.ports import ConsentStatistics, RequestsOverview
from carprivacy.services.ports.crypto import FieldCipher, KeyResealer
from carprivacy.services.ports.operations import (
    Database,
    MasterKeyRotation,
    MasterKeyRotationError,
    QuarantineReader,
    RotationOutcome,
)
from carprivacy.services.retention.holds import LegalHoldService
from carprivacy.services.retention.ports import LegalHoldRepository, RetentionStore
from carprivacy.services.retention.run import RetentionService
from carprivacy.services.rights.erasure import RequestErasure
from carprivacy.services.rights.overview import StoredRequestsOverview
from carprivacy.services.rights.wiring import RightsParts, build_rights

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from carprivacy.adapters.mqtt.worker import MqttIngestWorker, WorkerStats

Clock = Callable[[], datetime]


def store_unavailable_errors() -> tuple[type[Exception], ...]:
    """The database adapter's errors that mean the store itself is unavailable (down, restarting,
    connection lost): the API answers them 503, as StoreUnavailableError (SPEC I1)."""
    from carprivacy.adapters.db.engine import STORE_UNAVAILABLE

    return STORE_UNAVAILABLE


def utc_now() -> datetime:
    return datetime.now(UTC)


class TelemetryStore(TelemetryRepository, QuarantineReader, TelemetryReader, Protocol):
    """What :class:`Services` keeps of the telemetry store: ingestion writes, the CLI lists, the
    gate reads back."""


# -- the services object ------------------------------------------------------------------------


@dataclass(frozen=True)
class Secrets:
    """The process secrets: the audit checkpoint signing seed, the token key, the pseudonym key."""

    audit_seed: bytes
    token_key: bytes
    pseudonym_key: bytes

    @property
    def audit_pseudonym_key(self) -> bytes:
        return hmac.new(self.audit_seed, b"carprivacy audit pseudonyms", hashlib.sha256).digest()

    @property
    def email_lookup_key(self) -> bytes:
        return hmac.new(self.token_key, b"carprivacy caller e-mail lookup", hashlib.sha256).digest()

    @property
    def cardata_key(self) -> bytes:
        """Keys the hashes of CarData device codes, user codes, refresh tokens and call keys."""
        return hmac.new(self.token_key, b"carprivacy cardata codes", hashlib.sha256).digest()

    @property
    def portal_session_key(self) -> bytes:
        return hmac.new(self.token_key, b"carprivacy portal sessions", hashlib.sha256).digest()

    @property
    def console_session_key(self) -> bytes:
        return hmac.new(self.token_key, b"carprivacy console sessions", hashlib.sha256).digest()


@dataclass(frozen=True)
class PolicyDocuments:
    """Reading and checking policy files, rendering the notice and the Art. 30 register."""

    load: Callable[[Path], Policy]  # PolicyError listing every problem
    read: Callable[[Path], str]  # PolicyError when the file cannot be read
    check: Callable[[str, str], tuple[Policy | None, list[Problem]]]  # (text, where it came from)
    notice: Callable[[Policy, str, str], str]  # (policy, lang, fmt)
    register: Callable[[Policy, str, str], str]  # (policy, fmt, lang)
    register_rows: Callable[[Policy, str], list[dict[str, Any]]]  # (policy, lang)
    schema: Callable[[], dict[str, Any]]  # the JSON Schema of the policy file


@dataclass(frozen=True)
class MqttOptions:
    """What a command line may set for one MQTT worker; None means the setting in force."""

    topic: str | None = None
    group: str | None = None
    no_group: bool = False
    client_id: str | None = None
    batch_size: int | None = None
    batch_ms: int | None = None
    host: str | None = None
    port: int | None = None
    username: str | None = None
    password: str | None = None
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    session_expiry: int | None = None
    keepalive: int | None = None
    inflight: int = 65_535


MqttWorkerFactory = Callable[..., "MqttIngestWorker"]


@dataclass
class Services:
    """Every use case, wired. Routes reach them through ``entrypoints/api/deps.py``; commands
    through :func:`bootstrap`."""

    settings: Settings
    policy: Policy
    catalogue: SignalCatalogue
    cipher: FieldCipher
    database: Database
    documents: PolicyDocuments
    master: MasterDataService
    telemetry: TelemetryStore
    ingest: IngestService
    vehicle_credentials: VehicleCredentialService
    audit: AuditService
    monitoring: MonitoringService
    callers: CallerService
    portal_sessions: PortalSessions
    automated_decisions: AutomatedDecisionService
    decisions: DecisionService
    gate: Gate[Any]
    telemetry_reads: TelemetryReads
    subject_state: SubjectStateService
    consent_ledger: ConsentLedgerService
    disclosure: Disclosure
    workshop: WorkshopCollector
    mqtt_worker: MqttWorkerFactory  # (options=MqttOptions(), on_batch=None) -> the worker
    rotate_master_key: MasterKeyRotation
    cardata: CarDataAuthorisation
    cardata_api: CustomerApi
    cardata_quota: CallQuota
    retention: RetentionService
    legal_holds: LegalHoldService
    rights: RightsParts  # access copies, portability, rights requests and their fulfilment
    console_sessions: PortalSessions  # the privacy officer's console: sessions of their own
    consent_statistics: ConsentStatisticsService
    requests_overview: RequestsOverview  # the console's requests page reads this
    sharing: Sharing  # CarData third parties, shares, their approvals and the catalogue
    erasure: ErasureService
    cardata_stream: CarDataStream | None = None  # settings.stream_host unset: no stream

    def close(self) -> None:
        if self.cardata_stream is not None:
            self.cardata_stream.stop()
        self.database.dispose()


SERVICE_NAMES = tuple(f.name for f in fields(Services))


# -- one function per service ----------------------------------------------------------------------


def build_master(
    policy: Policy, unit_of_work: Callable[[], MasterDataUnitOfWork], clock: Clock
) -> MasterDataService:
    """Master data use cases (SPEC I4)."""
    return MasterDataService(
        unit_of_work, clock, controllers={c.id: c.account_owner for c in policy.controllers}
    )


def build_ingest(
    settings: Settings,
    policy: Policy,
    catalogue: SignalCatalogue,
    telemetry: TelemetryRepository,
    vehicles: VehicleDirectory,
    cipher: FieldCipher,
    consents: ConsentLookup,
) -> IngestService:
    """Telemetry ingestion for every transport (SPEC I1-I3); a refusal stops collection (C3)."""
    return IngestService(
        policy,
        catalogue,
        telemetry,
        vehicles,
        cipher,
        max_future_skew=timedelta(seconds=settings.max_future_skew_seconds),
        consents=consents,
    )


def build_workshop(
    settings: Settings,
    decisions: DecisionService,
    ingest: IngestService,
    vehicles: VehicleDirectory,
) -> WorkshopCollector:
    """Telemetry a workshop uploads, decided by the engine first (source ``workshop``)."""
    return WorkshopCollector(
        decisions, ingest, ingest.catalogue, vehicles, settings.workshop_organisations
    )


def build_vehicle_credentials(
    repository: VehicleCredentialRepository, clock: Clock
) -> VehicleCredentialService:
    """Per-vehicle bearer tokens for HTTP ingestion."""
    return VehicleCredentialService(repository, clock)


def build_audit(
    settings: Settings,
    repository: AuditLogRepository,
    secrets: Secrets,
    clock: Clock,
    witness: AuditWitness | None = None,
) -> AuditService:
    """The hash-chained audit log with signed checkpoints (SPEC U3)."""
    from carprivacy.adapters.crypto.signing import Ed25519CheckpointSigner
    from carprivacy.adapters.witness.file import FileAuditWitness

    if witness is None:
        path = settings.audit_witness_path or settings.data_dir / "audit-witness.jsonl"
        witness = FileAuditWitness(path)

    return AuditService(
        repository,
        Ed25519CheckpointSigner(secrets.audit_seed),
        secrets.audit_pseudonym_key,
        clock,
        checkpoint_every=settings.audit_checkpoint_every,
        witness=witness,
    )


def build_monitoring(
    audit: AuditService,
    alerts: AlertRepository,
    rules: MonitoringRules,
    windows: MonitoringWindows,
    clock: Clock,
) -> MonitoringService:
    """Unusual access, flagged as it is logged: monitoring observes every audit append, its
    windows shared by every process (``windows``: the database's)."""
    monitoring = MonitoringService(alerts, rules, windows, clock)
    audit.observers.append(monitoring.observe)
    return monitoring


def build_callers(
    settings: Settings,
    policy: Policy,
    repository: CallerRepository,
    outbox: EmailOutbox,
    secrets: Secrets,
    clock: Clock,
) -> CallerService:
    """People and machines that use the API, their credentials and tokens (SPEC U1)."""
    from carprivacy.adapters.crypto.passwords import Argon2PasswordHasher
    from carprivacy.adapters.crypto.tokens import JwtTokenSigner

    return CallerService(
        repository,
        policy,
        outbox,
        secrets.token_key,
        clock,
        CallerSettings(token_ttl=timedelta(seconds=settings.token_ttl_seconds)),
        passwords=Argon2PasswordHasher(
            time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib
        ),
        tokens=JwtTokenSigner(secrets.token_key),
    )


def build_portal_sessions(
    settings: Settings, callers: CallerService, secrets: Secrets, clock: Clock
) -> PortalSessions:
    limits = SessionLimits(absolute=timedelta(seconds=settings.portal_session_max_seconds))
    return PortalSessions(secrets.portal_session_key, callers, clock, limits)


def build_console_sessions(
    settings: Settings, callers: CallerService, secrets: Secrets, clock: Clock
) -> PortalSessions:
    """The console's sessions: as the portal's, under a key of their own (a portal cookie
    opens nothing in the console)."""
    limits = SessionLimits(absolute=timedelta(seconds=settings.portal_session_max_seconds))
    return PortalSessions(secrets.console_session_key, callers, clock, limits)


def build_automated_decisions(
    policy: Policy, repository: AutomatedDecisionRepository, clock: Clock
) -> AutomatedDecisionService:
    """Art. 22 decisions and their human reviews."""
    return AutomatedDecisionService(
        repository,
        clock,
        purposes=frozenset(policy.purposes_by_id),
        categories=frozenset(policy.categories_by_id),
    )


def build_decisions(
    policy: Policy, facts: DecisionFacts, audit: AuditService, clock: Clock
) -> DecisionService:
    """The decision engine over one read of the decision facts; audits every call."""
    return DecisionService(policy, facts, audit, clock)


def build_gate(
    policy: Policy,
    decisions: DecisionService,
    sessions: Callable[[], MasterDataUnitOfWork],
    secrets: Secrets,
    clock: Clock,
) -> Gate[Any]:
    """Every read of personal data: decided, released in the policy's form, audited."""
    return Gate(policy, decisions, sessions, secrets.pseudonym_key, clock)


def build_telemetry_reads(
    gate: Gate[Any],
    reader: TelemetryReader,
    cipher: FieldCipher,
    policy: Policy,
    catalogue: SignalCatalogue,
) -> TelemetryReads:
    """Stored telemetry read back through the gate (a vehicle's, a subject's, by period)."""
    return TelemetryReads(gate, reader, cipher, policy, catalogue)


def build_cardata(
    settings: Settings,
    store: Any,
    callers: CallerRepository,
    master: MasterDataService,
    secrets: Secrets,
    clock: Clock,
) -> CarDataAuthorisation:
    """CarData client ids, the device authorisation grant and its tokens (SPEC C2, U1)."""
    from carprivacy.adapters.crypto.tokens import JwtTokenSigner

    def gcid_of(subject_id: str) -> str:
        """The account id a customer's CarData tokens name: the group login account's."""
        accounts = master.accounts_of(subject_id)
        group = [a for a in accounts if a.kind is AccountKind.GROUP_LOGIN] or accounts
        return group[0].id if group else subject_id

    return CarDataAuthorisation(
        store,
        callers,
        JwtTokenSigner(secrets.token_key),
        secrets.cardata_key,
        clock,
        gcid_of,
        AuthorisationSettings(
            device_code_ttl=timedelta(seconds=settings.cardata_device_code_ttl_seconds),
            interval=settings.cardata_poll_interval_seconds,
            access_token_ttl=timedelta(seconds=settings.cardata_token_ttl_seconds),
            refresh_token_ttl=timedelta(seconds=settings.cardata_refresh_ttl_seconds),
            verification_uri=settings.cardata_verification_uri,
        ),
    )


def build_sharing(
    policy: Policy,
    catalogue: SignalCatalogue,
    compiled: Any,
    repository: Any,
    cardata_store: Any,
    callers: CallerRepository,
    authorisation: CarDataAuthorisation,
    master: Callable[[], MasterDataUnitOfWork],
    gate: Gate[Any],
    telemetry_reads: TelemetryReads,
    clock: Clock,
    audit: AuditService,
) -> Sharing:
    """CarData sharing with registered third parties (SPEC C2; Data Act Art. 4-6)."""
    from carprivacy.services.cardata.sharing import build

    return build(
        policy, catalogue, compiled, repository, cardata_store, callers, authorisation, master,
        gate, telemetry_reads, clock, audit,
    )  # fmt: skip


def build_cardata_quota(
    settings: Settings, counter: CallCounter, secrets: Secrets, clock: Clock
) -> CallQuota:
    """The CarData customer API's call quotas, per client and per account (SPEC C2)."""
    return CallQuota(
        counter,
        secrets.cardata_key,
        clock,
        QuotaSettings(
            per_client=settings.cardata_calls_per_client,
            per_account=settings.cardata_calls_per_account,
            window=timedelta(seconds=settings.cardata_call_window_seconds),
        ),
    )


def build_cardata_stream(
    settings: Settings,
    policy: Policy,
    catalogue: SignalCatalogue,
    engine: Engine,
    cardata_store: Any,
    callers: CallerRepository,
    decisions: DecisionService,
    sessions: Callable[[], MasterDataUnitOfWork],
    telemetry_reads: TelemetryReads,
    clock: Clock,
    sources: tuple[Any, ...] = (),
) -> CarDataStream:
    """The CarData stream (SPEC C2): the broker's plugin, one publishing connection, the owner's
    own clients and ``sources`` (more ``EntitlementSource`` s: third-party shares) as what may
    be received (docs/cardata.md "The stream")."""
    from carprivacy.adapters.db.repositories.cardata_stream import SqlStreamCredentialRepository
    from carprivacy.adapters.mqtt.dynsec import BrokerAddress, DynsecBroker, MqttStreamOutlet
    from carprivacy.adapters.mqtt.stream_connections import ConnectionLimit
    from carprivacy.services.cardata.stream_entitlements import (
        OwnStreamEntitlements,
        combined,
        stream_recipient,
    )

    def address(username: str, password: Any) -> BrokerAddress:
        secret = password.get_secret_value() if password is not None else ""
        host, port, ca = str(settings.stream_host), settings.stream_port, settings.stream_tls_ca
        return BrokerAddress(host, port, ca, username, secret)

    publisher = address(settings.stream_publisher_username, settings.stream_publisher_password)
    admin = address(settings.stream_admin_username, settings.stream_admin_password)
    credentials = SqlStreamCredentialRepository(engine)
    own = OwnStreamEntitlements(
        credentials, cardata_store, cardata_store, callers, decisions, sessions, catalogue,
        stream_recipient(policy),
    )  # fmt: skip
    return CarDataStream(
        credentials,
        combined(own, *sources) if sources else own,
        telemetry_reads,
        DynsecBroker(admin, (publisher.username, publisher.password)),
        MqttStreamOutlet(publisher),
        clock,
        reconcile_every=settings.stream_reconcile_seconds,
        connection_limit=ConnectionLimit(
            admin,
            settings.stream_connections_per_account,
            lambda username: username not in (admin.username, publisher.username),
        ),
    )


def build_share_stream(
    engine: Engine,
    cardata_store: Any,
    callers: CallerRepository,
    sharing: Sharing,
    decisions: DecisionService,
    sessions: Callable[[], MasterDataUnitOfWork],
    catalogue: SignalCatalogue,
) -> Any:
    """What third parties' CarData clients may receive on the stream: their active shares."""
    from carprivacy.adapters.db.repositories.cardata_stream import SqlStreamCredentialRepository
    from carprivacy.services.cardata.stream_shares import ShareStreamEntitlements

    return ShareStreamEntitlements(
        SqlStreamCredentialRepository(engine), cardata_store, cardata_store, callers,
        sharing.shares, decisions, sessions, catalogue,
    )  # fmt: skip


def build_subject_state(policy: Policy, state: SubjectStateRepository) -> SubjectStateService:
    return SubjectStateService(policy, state)


def build_consent_ledger(
    policy: Policy,
    ledger: SubjectLedger,
    audit: AuditService,
    outbox: EmailOutbox,
    master: MasterDataService,
    clock: Clock,
) -> ConsentLedgerService:
    def address(subject_id: str) -> str | None:
        """The person's e-mail address from master data (a notice to them, Art. 18(3))."""
        try:
            contact = master.get_customer(subject_id).contact
        except CarPrivacyError:
            return None
        return contact.email if contact is not None else None

    return ConsentLedgerService(policy, ledger, audit, outbox, address, clock)


def build_disclosure(policy: Policy, secrets: Secrets) -> Disclosure:
    return Disclosure(policy, secrets.pseudonym_key)


def build_mqtt_worker_factory(settings: Settings, ingest: IngestService) -> MqttWorkerFactory:
    """A worker per call: the settings in force, overridden by ``options``. ValueError names a
    bad option; nothing connects until the worker starts."""

    def make(
        options: MqttOptions | None = None,
        on_batch: Callable[[WorkerStats], None] | None = None,
    ) -> MqttIngestWorker:
        from carprivacy.adapters.mqtt.message import TopicPattern
        from carprivacy.adapters.mqtt.worker import MqttIngestWorker, MqttWorkerConfig

        o, s = options or MqttOptions(), settings
        group = None if o.no_group else (o.group or s.mqtt_group)
        password = o.password
        if password is None and s.mqtt_password is not None:
            password = s.mqtt_password.get_secret_value()
        client_id = o.client_id or s.mqtt_client_id or default_mqtt_client_id(group)
        config = MqttWorkerConfig(
            host=o.host or s.mqtt_host,
            port=o.port or s.mqtt_port,
            topic=o.topic or s.mqtt_topic,
            group=group,
            client_id=client_id,
            batch_size=o.batch_size or s.mqtt_batch_size,
            batch_ms=o.batch_ms or s.mqtt_batch_ms,
            session_expiry_s=(
                o.session_expiry if o.session_expiry is not None else s.mqtt_session_expiry_seconds
            ),
            keepalive_s=o.keepalive or s.mqtt_keepalive_seconds,
            username=o.username or s.mqtt_username,
            password=password,
            tls_ca=o.tls_ca or s.mqtt_tls_ca,
            tls_cert=o.tls_cert or s.mqtt_tls_cert,
            tls_key=o.tls_key or s.mqtt_tls_key,
            max_payload_bytes=s.max_payload_bytes,
            inflight=o.inflight,
        )
        TopicPattern.parse(config.topic).subscription(config.group)
        return MqttIngestWorker(config, ingest, on_batch=on_batch)

    return make


def default_mqtt_client_id(group: str | None) -> str:
    import socket

    return f"{group or 'carprivacy-ingest'}-{socket.gethostname()}"[:128]


def build_retention(
    policy: Policy, store: RetentionStore, audit: AuditService, clock: Clock
) -> RetentionService:
    """Retention runs (SPEC L1, L2): what has expired, deleted or anonymised in batches."""
    return RetentionService(policy, store, audit, clock)


def build_legal_holds(
    policy: Policy, holds: LegalHoldRepository, audit: AuditService, clock: Clock
) -> LegalHoldService:
    """Legal holds that pause retention for a subject, a vehicle or a record set (SPEC L1)."""
    return LegalHoldService(policy, holds, audit, clock)


def build_master_key_rotation(settings: Settings, data_keys: Any) -> MasterKeyRotation:
    """Re-wrap every data key under a new master key (docs/adr/master-key-rotation.md); the
    crypto adapter's errors become :class:`MasterKeyRotationError` here, at the boundary."""

    def rotate(
        *,
        new_key_file: Path | None = None,
        progress: Callable[[int, int], None] = lambda done, total: None,
        waiting: Callable[[], None] = lambda: None,
    ) -> RotationOutcome:
        from carprivacy.adapters.crypto.rotation import rotate_master_key
        from carprivacy.domain.errors import CiphertextError, RotationError, UnknownMasterKeyError

        try:
            done = rotate_master_key(
                data_keys, settings, new_key_file=new_key_file, progress=progress, waiting=waiting
            )
            return RotationOutcome(
                done.new_id, done.rewrapped, done.key_file, done.from_environment
            )
        except RotationError as exc:
            raise MasterKeyRotationError(str(exc), stopped=False) from None
        except UnknownMasterKeyError as exc:  # key ids only, never an owner
            raise MasterKeyRotationError(
                f"data_keys: wrapped by master key {exc.master_key_id}, which neither the "
                "key file nor its .next (nor CARPRIVACY_MASTER_KEY) holds; the rotation stopped "
                "(keys re-wrapped so far are under the new key); another rotation may have used "
                "that key: load it, or find it in a backup, before going on",
                stopped=True,
            ) from None
        except CiphertextError as exc:  # a wrapped data key that does not open: no owner named
            raise MasterKeyRotationError(
                f"data_keys: {exc}; the rotation stopped", stopped=True
            ) from None

    return rotate


# -- production adapters ---------------------------------------------------------------------------


def policy_documents() -> PolicyDocuments:
    """The policy file adapters (YAML loader, JSON Schema, notice and register renderers)."""
    from carprivacy.adapters.notice.notice import render_notice
    from carprivacy.adapters.notice.register import register_rows, render_register
    from carprivacy.adapters.policy.loader import (
        check_policy_text,
        load_policy_file,
        read_policy_file,
    )
    from carprivacy.adapters.policy.schema import PolicyModel

    return PolicyDocuments(
        load=load_policy_file,
        read=read_policy_file,
        check=check_policy_text,
        notice=render_notice,
        register=render_register,
        register_rows=register_rows,
        schema=PolicyModel.model_json_schema,
    )


def load_policy(settings: Settings) -> Policy:
    return policy_documents().load(settings.policy_path)


def load_catalogue() -> SignalCatalogue:
    from carprivacy.adapters.catalogue import load_catalogue as load

    return load()


def file_secrets(settings: Settings) -> Secrets:
    """The secrets from configuration, else from key files in the data directory (created with
    mode 0600 on first run)."""
    from carprivacy.adapters.keyfile import read_or_create_secret

    s = settings
    if s.audit_signing_key is not None:
        seed = base64.urlsafe_b64decode(s.audit_signing_key.get_secret_value())
    else:
        seed, _ = read_or_create_secret(s.data_dir / "audit-signing.key")
    if s.token_secret is not None:
        token_key = hashlib.sha256(s.token_secret.get_secret_value().encode()).digest()
    else:
        token_key, _ = read_or_create_secret(s.data_dir / "token.key")
    pseudonym_key, _ = read_or_create_secret(s.data_dir / "pseudonym.key")
    return Secrets(audit_seed=seed, token_key=token_key, pseudonym_key=pseudonym_key)


def sql_database(settings: Settings, engine: Engine | None = None) -> Database:
    """The SQL database alone (``carprivacy db``): no policy, no keys."""
    from carprivacy.adapters.db.database import SqlDatabase
    from carprivacy.adapters.db.engine import make_engine

    return SqlDatabase(engine or make_engine(settings.resolved_database_url))


def with_admin_token(settings: Settings) -> tuple[Settings, Path | None, bool]:
    """``settings`` with an administrator token: the configured one, else the one kept in
    ``<data_dir>/admin.token`` (created, mode 0600, on first run). Returns the settings, the
    token file when one was used and whether it was created."""
    if settings.admin_token is not None:
        return settings, None, False
    from pydantic import SecretStr

    from carprivacy.adapters.keyfile import read_or_create_token

    token_file = settings.data_dir / "admin.token"
    token, created = read_or_create_token(token_file)
    return settings.model_copy(update={"admin_token": SecretStr(token)}), token_file, created


# -- the composition root --------------------------------------------------------------------------


def email_outbox(settings: Settings) -> EmailOutbox:
    """The transport ``email_transport`` names: SMTP, or the development file outbox."""
    if settings.email_transport == "smtp":
        import ssl

        from carprivacy.adapters.email.smtp import SmtpEmailOutbox, SmtpSettings

        if not settings.smtp_host:
            raise ValueError("email_transport=smtp needs smtp_host")
        ca = settings.smtp_tls_ca
        context = ssl.create_default_context(cafile=str(ca) if ca else None)
        password = settings.smtp_password
        return SmtpEmailOutbox(
            SmtpSettings(
                host=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_username,
                password=password.get_secret_value() if password else None,
                starttls=settings.smtp_starttls,
                sender=settings.smtp_from,
                timeout_seconds=settings.smtp_timeout_seconds,
            ),
            context,
        )
    from carprivacy.adapters.email.outbox import FileEmailOutbox

    return FileEmailOutbox(settings.data_dir / "outbox")


def bootstrap(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    policy: Policy | None = None,
    catalogue: SignalCatalogue | None = None,
    clock: Clock = utc_now,
    secrets: Secrets | None = None,
    cipher: FieldCipher | None = None,
    data_keys: Any = None,
    database: Database | None = None,
    documents: PolicyDocuments | None = None,
    master_unit_of_work: Callable[[], MasterDataUnitOfWork] | None = None,
    decision_facts: DecisionFacts | None = None,
    telemetry: TelemetryStore | None = None,
    vehicles: VehicleDirectory | None = None,
    subject_states: SubjectStateRepository | None = None,
    consents: ConsentLookup | None = None,
    vehicle_credentials: VehicleCredentialRepository | None = None,
    audit_log: AuditLogRepository | None = None,
    audit_witness: AuditWitness | None = None,
    alerts: AlertRepository | None = None,
    monitoring_windows: MonitoringWindows | None = None,
    monitoring_rules: MonitoringRules | None = None,
    callers: CallerRepository | None = None,
    outbox: EmailOutbox | None = None,
    automated_decisions: AutomatedDecisionRepository | None = None,
    cardata: Any = None,
    shares: Any = None,
    retention_store: RetentionStore | None = None,
    legal_holds: LegalHoldRepository | None = None,
    rights: dict[str, Any] | None = None,  # the rights ports by name (services/rights/wiring.py)
    consent_statistics: ConsentStatistics | None = None,
    requests_overview: RequestsOverview | None = None,
) -> Services:
    """Every service, wired. Each keyword is an adapter; left out, it is the production one (the
    SQL store on ``engine``, or on ``settings.resolved_database_url``; key files in
    ``settings.data_dir``; the policy file ``settings.policy_path``)."""
    settings = settings or load_settings()
    documents = documents or policy_documents()
    policy = policy or documents.load(settings.policy_path)
    catalogue = catalogue or load_catalogue()
    catalogue.check_categories(policy.categories_by_id)  # start-up check: PolicyError

    sql = _ProductionAdapters(settings, engine)  # an engine only if needed
    data_keys = data_keys if data_keys is not None else sql.data_keys()
    cipher = cipher or sql.cipher(data_keys)
    secrets = secrets or file_secrets(settings)
    subject_states = subject_states or sql.subject_states(cipher)

    sessions = master_unit_of_work or sql.master(cipher)
    master = build_master(policy, sessions, clock)
    store = telemetry or sql.telemetry()
    directory = vehicles or sql.vehicles()
    ingest = build_ingest(
        settings,
        policy,
        catalogue,
        store,
        directory,
        cipher,
        # the subject-state store answers the batch's consent lookups too
        consents or cast(ConsentLookup, subject_states),
    )
    audit = build_audit(settings, audit_log or sql.audit_log(), secrets, clock, audit_witness)
    monitoring = build_monitoring(
        audit,
        alerts or sql.alerts(),
        monitoring_rules or sql.monitoring_rules(),
        monitoring_windows or sql.monitoring_windows(),
        clock,
    )
    facts = decision_facts or sql.decision_facts(cipher)
    decisions = build_decisions(policy, facts, audit, clock)
    outbox = outbox or sql.outbox()
    gate = build_gate(policy, decisions, sessions, secrets, clock)
    caller_store = callers or sql.callers(cipher, secrets)
    telemetry_reads = build_telemetry_reads(gate, store, cipher, policy, catalogue)
    # one store implements the CarData ports (grants, containers, call counts)
    cardata_store = cardata if cardata is not None else sql.cardata()
    caller_service = build_callers(settings, policy, caller_store, outbox, secrets, clock)
    ledger = build_consent_ledger(
        policy, cast(SubjectLedger, subject_states), audit, outbox, master, clock
    )
    cardata_auth = build_cardata(settings, cardata_store, caller_store, master, secrets, clock)
    sharing = build_sharing(
        policy, catalogue, decisions.policy, shares if shares is not None else sql.shares(),
        cardata_store, caller_store, cardata_auth, sessions, gate, telemetry_reads, clock, audit,
    )  # fmt: skip
    caller_service.registered_organisations = sharing.registry.ids
    stream = None
    if settings.stream_host:  # the CarData stream (SPEC C2): told of tokens and stored data
        stream = build_cardata_stream(
            settings, policy, catalogue, sql.engine, cardata_store, caller_store, decisions,
            sessions, telemetry_reads, clock,
            sources=(build_share_stream(sql.engine, cardata_store, caller_store, sharing,
                                        decisions, sessions, catalogue),),
        )  # fmt: skip
        sharing.shares.subscribe(stream.changed)
        ingest.stored_listeners.append(stream.stored)
        cardata_auth.stream_listeners.append(stream.issued)
    erasure = build_erasure(
        settings, policy, sql, cipher, legal_holds or sql.legal_holds(), audit, outbox, master,
        clock,
    )  # fmt: skip
    rights_parts = build_rights(
        policy,
        {"erasure": RequestErasure(erasure), **sql.rights(cipher, rights or {}), **(rights or {})},
        gate=gate,
        telemetry_reads=telemetry_reads,
        master=master,
        audit=audit,
        outbox=outbox,
        cipher=cipher,
        ledger=ledger,
        code_key=hmac.new(secrets.token_key, b"carprivacy request codes", hashlib.sha256).digest(),
        clock=clock,
        copy_period_months=settings.copy_period_months,
    )
    return Services(
        settings=settings,
        policy=policy,
        catalogue=catalogue,
        cipher=cipher,
        database=database or sql.database(),
        documents=documents,
        master=master,
        telemetry=store,
        ingest=ingest,
        vehicle_credentials=build_vehicle_credentials(
            vehicle_credentials or sql.vehicle_credentials(), clock
        ),
        audit=audit,
        monitoring=monitoring,
        callers=caller_service,
        portal_sessions=build_portal_sessions(settings, caller_service, secrets, clock),
        automated_decisions=build_automated_decisions(
            policy, automated_decisions or sql.automated_decisions(cipher), clock
        ),
        decisions=decisions,
        gate=gate,
        telemetry_reads=telemetry_reads,
        subject_state=build_subject_state(policy, subject_states),
        consent_ledger=ledger,
        disclosure=build_disclosure(policy, secrets),
        workshop=build_workshop(settings, decisions, ingest, directory),
        mqtt_worker=build_mqtt_worker_factory(settings, ingest),
        rotate_master_key=build_master_key_rotation(settings, data_keys),
        cardata=cardata_auth,
        cardata_api=CustomerApi(
            gate, telemetry_reads, cardata_store, catalogue, clock, sharing.shared_api
        ),
        cardata_quota=build_cardata_quota(settings, cardata_store, secrets, clock),
        retention=build_retention(policy, retention_store or sql.retention_store(), audit, clock),
        legal_holds=build_legal_holds(policy, legal_holds or sql.legal_holds(), audit, clock),
        sharing=sharing,
        rights=rights_parts,
        cardata_stream=stream,
        console_sessions=build_console_sessions(settings, caller_service, secrets, clock),
        consent_statistics=ConsentStatisticsService(
            consent_statistics or sql.consent_statistics(), policy
        ),
        requests_overview=requests_overview or StoredRequestsOverview(rights_parts.requests),
        erasure=erasure,
    )


def build_erasure(
    settings: Settings,
    policy: Policy,
    sql: _ProductionAdapters,
    cipher: FieldCipher,
    holds: LegalHoldRepository,
    audit: AuditService,
    outbox: EmailOutbox,
    master: MasterDataService,
    clock: Clock,
) -> ErasureService:
    """Erasure (SPEC R3): the SQL store, the envelope cipher's reseal, the shred list file."""
    from carprivacy.adapters.db.repositories.erasure import SqlErasureStore
    from carprivacy.adapters.shred_list import FileShredList

    def address(subject_id: str) -> str | None:
        try:
            contact = master.get_customer(subject_id).contact
        except CarPrivacyError:
            return None
        return contact.email if contact is not None else None

    return ErasureService(
        policy,
        SqlErasureStore(lambda: sql.engine),
        cast(KeyResealer, cipher),
        holds,
        audit,
        outbox,
        address,
        FileShredList(settings.resolved_shred_list_path),
        clock,
    )


def backup_database(settings: Settings, target: Path) -> None:
    """``carprivacy backup`` (SPEC R3): a consistent copy of the database, mode 0600."""
    from carprivacy.adapters.db.backup import backup

    backup(settings.resolved_database_url, target)


def restore_database(settings: Settings, source: Path) -> list[str]:
    """``carprivacy restore`` (SPEC R3): the backup replaces the database, then the shred list
    is replayed; returns the erasures carried out again."""
    from carprivacy.adapters.db.backup import restore
    from carprivacy.adapters.db.engine import make_engine
    from carprivacy.adapters.db.repositories.data_keys import SqlDataKeyRepository

    restore(settings.resolved_database_url, source)
    engine = make_engine(settings.resolved_database_url)
    container = bootstrap(settings, engine=engine)
    keys = SqlDataKeyRepository(engine)
    try:
        return container.erasure.replay(
            lambda owners: {o for o, k in keys.get_many(owners).items() if k.wrapped is not None}
        )
    finally:
        container.close()


class _ProductionAdapters:
    """The production adapters, each made on demand; the SQL ones share one engine, made on
    first need."""

    def __init__(self, settings: Settings, engine: Engine | None) -> None:
        self.settings = settings
        self._engine = engine

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from carprivacy.adapters.db.engine import make_engine

            self._engine = make_engine(self.settings.resolved_database_url)
        return self._engine

    def database(self) -> Database:
        return sql_database(self.settings, self.engine)

    def data_keys(self) -> Any:
        from carprivacy.adapters.db.repositories.data_keys import SqlDataKeyRepository

        return SqlDataKeyRepository(self.engine)

    def cipher(self, data_keys: Any) -> FieldCipher:
        """Envelope encryption: per-owner data keys under the master key, which is read (or, on
        first run, created) when first needed, and read again when a rotation in another process
        changed it (docs/adr/master-key-rotation.md)."""
        from carprivacy.adapters.crypto.envelope import EnvelopeCipher
        from carprivacy.adapters.crypto.master_key import load_master_key

        return EnvelopeCipher(data_keys, partial(load_master_key, self.settings))

    def master(self, cipher: FieldCipher) -> Callable[[], MasterDataUnitOfWork]:
        from carprivacy.adapters.db.repositories.master import SqlMasterDataUnitOfWork

        engine = self.engine
        return lambda: SqlMasterDataUnitOfWork(engine, cipher)

    def telemetry(self) -> TelemetryStore:
        from carprivacy.adapters.db.repositories.telemetry import SqlTelemetryRepository

        return SqlTelemetryRepository(self.engine)

    def vehicles(self) -> VehicleDirectory:
        from carprivacy.adapters.db.repositories.telemetry import SqlVehicleDirectory

        return SqlVehicleDirectory(self.engine)

    def decision_facts(self, cipher: FieldCipher) -> DecisionFacts:
        from carprivacy.adapters.db.repositories.decision_facts import SqlDecisionFacts

        return SqlDecisionFacts(self.engine, cipher)

    def subject_states(self, cipher: FieldCipher) -> SubjectStateRepository:
        from carprivacy.adapters.db.repositories.subject_state import SqlSubjectStateRepository

        return SqlSubjectStateRepository(self.engine, cipher)

    def vehicle_credentials(self) -> VehicleCredentialRepository:
        from carprivacy.adapters.db.repositories.telemetry import SqlVehicleCredentialRepository

        return SqlVehicleCredentialRepository(self.engine)

    def audit_log(self) -> AuditLogRepository:
        from carprivacy.adapters.db.repositories.access import SqlAuditLogRepository

        return SqlAuditLogRepository(self.engine)

    def alerts(self) -> AlertRepository:
        from carprivacy.adapters.db.repositories.monitoring import SqlAlertRepository

        return SqlAlertRepository(self.engine)

    def monitoring_windows(self) -> MonitoringWindows:
        from carprivacy.adapters.db.repositories.monitoring import SqlMonitoringWindows

        return SqlMonitoringWindows(self.engine)

    def monitoring_rules(self) -> MonitoringRules:
        from carprivacy.adapters.monitoring.rules_file import load_rules

        return load_rules(self.settings.monitoring_rules_file)

    def callers(self, cipher: FieldCipher, secrets: Secrets) -> CallerRepository:
        from carprivacy.adapters.db.repositories.callers import SqlCallerRepository

        return SqlCallerRepository(self.engine, cipher, secrets.email_lookup_key)

    def outbox(self) -> EmailOutbox:
        return email_outbox(self.settings)

    def cardata(self) -> Any:
        from carprivacy.adapters.db.repositories.cardata import SqlCarDataRepository

        return SqlCarDataRepository(self.engine)

    def shares(self) -> Any:
        from carprivacy.adapters.db.repositories.shares import SqlShareRepository

        return SqlShareRepository(self.engine)

    def automated_decisions(self, cipher: FieldCipher) -> AutomatedDecisionRepository:
        from carprivacy.adapters.db.repositories.access import SqlAutomatedDecisionRepository

        return SqlAutomatedDecisionRepository(self.engine, cipher)

    def retention_store(self) -> RetentionStore:
        from carprivacy.adapters.db.repositories.retention import SqlRetentionStore

        return SqlRetentionStore(self.engine)

    def rights(self, cipher: FieldCipher, given: dict[str, Any]) -> dict[str, Any]:
        """The SQL stores of the rights ports ``given`` leaves out; the HTTPS transmitter."""
        from carprivacy.adapters.http.transmitter import HttpsTransmitter

        made: dict[str, Any] = {}
        if "transmitter" not in given:
            made["transmitter"] = HttpsTransmitter(
                self.settings.transmission_ca, self.settings.transmission_timeout_seconds
            )
        if not {"export_store", "requests", "rectifications"} <= set(given):
            from carprivacy.adapters.db.repositories import rights as sql_rights

            made["export_store"] = sql_rights.SqlExportStore(self.engine, cipher)
            made["requests"] = sql_rights.SqlRightsRequestRepository(self.engine, cipher)
            made["rectifications"] = sql_rights.SqlRectificationLog(self.engine, cipher)
        return made

    def legal_holds(self) -> LegalHoldRepository:
        from carprivacy.adapters.db.repositories.retention import SqlLegalHoldRepository

        return SqlLegalHoldRepository(self.engine)

    def consent_statistics(self) -> ConsentStatistics:
        from carprivacy.adapters.db.repositories.consent_statistics import SqlConsentStatistics

        return SqlConsentStatistics(self.engine)
