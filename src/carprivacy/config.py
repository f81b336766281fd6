"""Settings, built on demand from the environment (prefix ``CARPRIVACY_``).

Nothing reads them at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent
# Editable install / source checkout: <repo>/src/carprivacy -> <repo>
REPO_DIR = PACKAGE_DIR.parent.parent


def default_policy_path() -> Path:
    return REPO_DIR / "policies" / "mini-connected-nl.yaml"


MIN_SECRET_CHARS = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CARPRIVACY_", extra="ignore")

    data_dir: Path = Field(default=Path("var"), description="Where the embedded defaults live.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file in data_dir."
    )
    policy_path: Path = Field(
        default_factory=default_policy_path,
        description="The policy file; default: policies/mini-connected-nl.yaml of the checkout.",
    )
    admin_token: SecretStr | None = Field(
        default=None, description="Bearer token of the administrator."
    )
    master_key: SecretStr | None = Field(
        default=None, description="Base64 32-byte master key; else read from master_key_file."
    )
    master_key_file: Path | None = Field(
        default=None,
        description="File of the master key (mode 0600); default <data_dir>/master.key, "
        "created on first run.",
    )
    token_secret: SecretStr | None = Field(
        default=None, description="Key that signs access tokens; default: generated in data_dir."
    )
    audit_signing_key: SecretStr | None = Field(
        default=None, description="Base64 32-byte Ed25519 seed; default: generated in data_dir."
    )
    audit_checkpoint_every: int = Field(
        default=1000, ge=1, description="Sign an audit checkpoint after this many new entries."
    )
    audit_witness_path: Path | None = Field(
        default=None,
        description="Append-only file of the audit log's signed heads, outside the database; "
        "default: audit-witness.jsonl in data_dir.",
    )
    shred_list_path: Path | None = Field(
        default=None,
        description="Append-only file (mode 0600) of the erasures' destroyed keys, outside the "
        "database and its backups; a restore replays it. Default: shred-list.jsonl in data_dir.",
    )
    monitoring_rules_file: Path | None = Field(
        default=None,
        description="YAML file of monitoring thresholds and working hours per organisation/role.",
    )
    token_ttl_seconds: int = Field(
        default=900, ge=30, le=86_400, description="Lifetime of issued bearer tokens (seconds)."
    )
    cardata_token_ttl_seconds: int = Field(
        default=3600,
        ge=60,
        le=86_400,
        description="Lifetime of CarData access and id tokens (seconds; refresh tokens rotate).",
    )
    cardata_refresh_ttl_seconds: int = Field(
        default=14 * 86_400,
        ge=3600,
        le=365 * 86_400,
        description="Lifetime of a CarData refresh token (seconds); each is used once.",
    )
    cardata_device_code_ttl_seconds: int = Field(
        default=600, ge=60, le=3600, description="Lifetime of a CarData device code (seconds)."
    )
    cardata_poll_interval_seconds: int = Field(
        default=5,
        ge=1,
        le=60,
        description="Seconds a CarData client waits between token polls (faster: slow_down).",
    )
    cardata_verification_uri: str = Field(
        default="http://localhost:8000/portal/cardata/device",
        max_length=200,
        description="Where a person enters a CarData user code (verification_uri).",
    )
    cardata_calls_per_client: int = Field(
        default=10_000,
        ge=1,
        le=10**9,
        description="CarData customer API calls per client id in one window.",
    )
    cardata_calls_per_account: int = Field(
        default=20_000,
        ge=1,
        le=10**9,
        description="CarData customer API calls per account (gcid) in one window.",
    )
    cardata_call_window_seconds: int = Field(
        default=86_400,
        ge=1,
        le=31 * 86_400,
        description="The window of the CarData call quotas (seconds).",
    )
    stream_host: str | None = Field(
        default=None,
        description="The CarData stream broker (deploy/mosquitto/stream.conf); unset: no stream.",
    )
    stream_port: int = Field(default=8883, ge=1, le=65535, description="Its TLS port.")
    stream_tls_ca: Path | None = Field(
        default=None, description="CA of the stream broker's certificate; default: system store."
    )
    stream_admin_username: str = Field(
        default="carprivacy-stream-admin", description="The stream broker's admin account."
    )
    stream_admin_password: SecretStr | None = Field(
        default=None, description="Its password (the dynamic security plugin's administrator)."
    )
    stream_publisher_username: str = Field(
        default="carprivacy-stream-publisher", description="The account that publishes."
    )
    stream_publisher_password: SecretStr | None = Field(
        default=None, description="Its password (the server creates the account)."
    )
    stream_connections_per_account: int = Field(
        default=4,
        ge=1,
        le=100,
        description="Stream connections one account may hold at once (the newest past it close).",
    )
    stream_reconcile_seconds: float = Field(
        default=1.0,
        gt=0,
        le=4,
        description="How often the server makes the stream broker match the rules (seconds).",
    )
    portal_session_max_seconds: int = Field(
        default=28_800,
        ge=60,
        le=604_800,
        description="Longest a portal login lasts (seconds); it also ends after "
        "token_ttl_seconds without a request.",
    )
    argon2_time_cost: int = Field(
        default=3, ge=1, description="argon2id iterations for password hashes."
    )
    argon2_memory_kib: int = Field(
        default=65536, ge=8, description="argon2id memory for password hashes (KiB)."
    )
    mqtt_host: str = Field(default="127.0.0.1", description="MQTT broker host.")
    mqtt_port: int = Field(default=1883, description="MQTT broker port (8883 for TLS).")
    mqtt_username: str | None = Field(default=None, description="MQTT user name.")
    mqtt_password: SecretStr | None = Field(default=None, description="MQTT password.")
    mqtt_tls_ca: Path | None = Field(
        default=None, description="CA file (PEM): setting it turns MQTT over TLS on."
    )
    mqtt_tls_cert: Path | None = Field(default=None, description="Client certificate (PEM).")
    mqtt_tls_key: Path | None = Field(default=None, description="Client certificate key (PEM).")
    mqtt_group: str | None = Field(
        default="carprivacy-ingest", description="MQTT 5 shared-subscription group of the workers."
    )
    mqtt_client_id: str | None = Field(
        default=None, description="Stable per-worker id (persistent session); default from host."
    )
    mqtt_batch_size: int = Field(
        default=500, ge=1, description="Messages committed (then acknowledged) per batch."
    )
    mqtt_batch_ms: int = Field(
        default=200, ge=1, description="Longest wait (ms) before a partial batch is committed."
    )
    mqtt_session_expiry_seconds: int = Field(
        default=86_400,
        ge=1,
        le=4_294_967_295,
        description="Broker keeps the worker's session (and unacknowledged messages) this long.",
    )
    mqtt_keepalive_seconds: int = Field(
        default=30,
        ge=2,
        le=65_535,
        description="MQTT keep-alive; the broker drops a silent worker after 1.5 times this.",
    )
    mqtt_topic: str = Field(
        default="vehicles/+/telemetry",
        description="Topic filter; its first + level is the VIN (17 characters, no I, O or Q).",
    )
    max_payload_bytes: int = Field(
        default=1_048_576,
        description="Largest telemetry payload in bytes: a POST /v1/telemetry body (larger gets "
        "413) and an MQTT message (larger is quarantined as payload/size); also a POST "
        "/v1/policy/check text.",
    )
    ingest_turn_records: int = Field(
        default=2000,
        ge=1,
        le=100_000,
        description="Most records one ingestion turn of a server process stores together (the "
        "concurrent uploads it joins into one transaction; at least one upload). Smaller: an "
        "upload arriving just after a turn started waits less; larger: fewer commits.",
    )
    ingest_queue_records: int = Field(
        default=20_000,
        ge=1,
        le=10_000_000,
        description="Most records a server process holds waiting for ingestion; an upload beyond "
        "it is answered 503 with Retry-After at once (nothing stored) instead of queueing.",
    )
    retention_interval_seconds: int = Field(
        default=21_600,
        ge=0,
        le=31_536_000,
        description="How often `carprivacy serve` runs the retention job (0: never; the first "
        "run one interval after the start; one schedule per server, whatever --workers).",
    )
    email_transport: Literal["file", "smtp"] = Field(
        default="file",
        description="How e-mail (login codes) leaves: smtp (smtp_host, STARTTLS, AUTH) or, for "
        "development only, file: one 0600 file per message in <data_dir>/outbox, removed when "
        "its code is used or expired.",
    )
    smtp_host: str | None = Field(default=None, description="SMTP server (email_transport=smtp).")
    smtp_port: int = Field(default=587, ge=1, le=65535, description="SMTP port (submission).")
    smtp_username: str | None = Field(
        default=None, description="SMTP AUTH user name (only over STARTTLS)."
    )
    smtp_password: SecretStr | None = Field(default=None, description="SMTP AUTH password.")
    smtp_starttls: bool = Field(
        default=True, description="Upgrade the SMTP connection with STARTTLS (certificate checked)."
    )
    smtp_tls_ca: Path | None = Field(
        default=None, description="CA file (PEM) for the SMTP server; default: the system's CAs."
    )
    smtp_from: str = Field(
        default="carprivacy <no-reply@localhost>", description="Sender address of e-mail."
    )
    smtp_timeout_seconds: float = Field(
        default=10.0, gt=0, description="SMTP connect and command timeout (seconds)."
    )
    transmission_ca: Path | None = Field(
        default=None,
        description="CA file (PEM) to verify other controllers' HTTPS endpoints a portability "
        "export is sent to (Art. 20(2)); default: the system's CAs.",
    )
    transmission_timeout_seconds: float = Field(
        default=30.0, gt=0, description="Timeout of a direct portability transmission (seconds)."
    )
    copy_period_months: int = Field(
        default=12,
        ge=1,
        le=120,
        description="A further copy of a person's data within this many months is flagged for "
        "a reasonable fee (Art. 15(3)).",
    )
    max_body_bytes: int = Field(
        default=1_048_576,
        ge=1,
        description="Largest request body of an authenticated request on any route (413 "
        "naming the limit beyond it); telemetry and the policy check take max_payload_bytes "
        "when that is larger.",
    )
    max_public_body_bytes: int = Field(
        default=16_384,
        ge=1,
        description="Largest request body of the login routes (/v1/auth/..., /v1/oauth/token) "
        "and of any request without credentials: refused with 413 from its Content-Length, or "
        "as soon as a chunked body passes it.",
    )
    max_future_skew_seconds: int = Field(
        default=300,
        description="How far a telemetry timestamp may lie ahead of the receipt time.",
    )
    workshop_organisations: list[str] = Field(
        default=["workshops"],
        description="Policy recipients whose dealer or partner callers may upload workshop "
        "read-outs (POST /v1/workshop/telemetry); every other organisation gets 403.",
    )

    @field_validator("admin_token", "token_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        """A short bearer token or signing secret can be guessed offline: refuse it."""
        if value is not None and len(value.get_secret_value()) < MIN_SECRET_CHARS:
            raise ValueError(f"must be at least {MIN_SECRET_CHARS} characters")
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'carprivacy.db').resolve()}"

    @property
    def resolved_shred_list_path(self) -> Path:
        return self.shred_list_path or (self.data_dir / "shred-list.jsonl")

    @property
    def resolved_master_key_file(self) -> Path:
        return self.master_key_file or (self.data_dir / "master.key")


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
