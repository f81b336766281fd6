"""Tables of callers, credentials, the audit log, alerts and automated decisions.

Migrations: ``0003_access``, ``0008_login_attempts``, ``0010_audit_list_entries``,
``0011_alert_acknowledgement``, ``0012_monitoring_windows``; keep them in step (a test compares them
on SQLite and PostgreSQL).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from carprivacy.adapters.db.base import metadata

callers = Table(
    "callers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("role", String(32), nullable=False),
    Column("organisation", String(64), nullable=False),
    Column("scopes", Text, nullable=False),
    # the login e-mail: a keyed hash for lookup, the address itself encrypted (I3) under the
    # subject's key for customers (erasure shreds it) or the caller's own key for staff
    Column("email_hash", String(64), nullable=True, unique=True),
    Column("email_ciphertext", LargeBinary, nullable=True),
    Column("subject_id", String(64), nullable=True),
    Column("fleet_id", String(64), nullable=True),
    Column("disabled", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

caller_credentials = Table(
    "caller_credentials",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("caller_id", String(64), ForeignKey("callers.id"), nullable=False),
    Column("kind", String(16), nullable=False),  # password | client_secret
    Column("secret_hash", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("caller_id", "kind", name="uq_caller_credentials_caller_kind"),
)

# password login attempts per login name (a keyed hash of it) in the current window: shared by
# every process that serves logins (migration 0008_login_attempts)
login_attempts = Table(
    "login_attempts",
    metadata,
    Column("login_key", String(64), primary_key=True),
    Column("attempts", Integer, nullable=False),
    Column("window_start", DateTime(timezone=True), nullable=False),
)
Index("ix_login_attempts_window_start", login_attempts.c.window_start)

email_codes = Table(
    "email_codes",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("caller_id", String(64), ForeignKey("callers.id"), nullable=False),
    Column("code_hash", String(64), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("used", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("prev_hash", String(64), nullable=False),
    Column("at", String(40), nullable=False),
    Column("caller_id", String(64), nullable=False),
    Column("organisation", String(64), nullable=False),
    Column("role", String(32), nullable=False),
    Column("purpose", String(100), nullable=False),
    Column("subject_ref", String(64), nullable=False),
    Column("vehicle_ref", String(64), nullable=False),
    Column("categories", Text, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("rule", String(100), nullable=False),
    Column("form", String(32), nullable=False),
    Column("action", String(120), nullable=False),
    Column("hash", String(64), nullable=False),
    # a read of several subjects or vehicles: their refs, comma-separated (hashed when not empty)
    Column("subjects", Text, nullable=False, server_default=""),
    Column("vehicles", Text, nullable=False, server_default=""),
    Index("ix_audit_log_caller_at", "caller_id", "at"),
    Index("ix_audit_log_subject_ref", "subject_ref"),
    Index("ix_audit_log_at", "at"),
)

# the subjects named in an entry's ``subjects``, one row each, written in the entry's
# transaction: how "accesses to subject X" finds X inside a list read (an index, not the record:
# the hash covers the entry's own column)
audit_log_subjects = Table(
    "audit_log_subjects",
    metadata,
    Column("subject_ref", String(64), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
)

audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("entry_hash", String(64), nullable=False),
    Column("at", String(40), nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("signature", Text, nullable=False),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("rule", String(32), nullable=False),
    Column("caller_id", String(64), nullable=False),
    Column("organisation", String(64), nullable=False),
    Column("role", String(32), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("window_start", DateTime(timezone=True), nullable=False),
    Column("count", Integer, nullable=False),
    Column("threshold", Integer, nullable=False),
    Column("entry_seq", BigInteger, nullable=False),
    Column("message", Text, nullable=False),
    Column("acknowledged", Boolean, nullable=False),  # has at least one acknowledgement
    Index("ix_alerts_at", "at"),
)

# who looked at an alert, when, and what they found: appended, never changed
alert_acknowledgements = Table(
    "alert_acknowledgements",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("alert_id", String(200), ForeignKey("alerts.id"), nullable=False),
    Column("acknowledged_by", String(64), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("note", Text, nullable=False),  # the staff member's words (no subject is named)
    Index("ix_alert_acknowledgements_alert_id", "alert_id"),
)

# the monitoring rules' window of each caller (domain.monitoring.CallerWindow), shared by every
# process that serves requests; a row is locked while one process feeds the caller's entries
monitoring_windows = Table(
    "monitoring_windows",
    metadata,
    Column("caller_id", String(64), primary_key=True),
    Column("hour", DateTime(timezone=True), nullable=True),
    Column("hour_alerted", Boolean, nullable=False),
    Column("denies", Text, nullable=False),  # JSON list of ISO times within the burst window
    Column("in_burst", Boolean, nullable=False),
    Column("last_deny", DateTime(timezone=True), nullable=True),
    Column("off_hours_day", String(10), nullable=False),
)

# the distinct subjects (their audit refs) each caller read in its current hour
monitoring_subjects = Table(
    "monitoring_subjects",
    metadata,
    Column("caller_id", String(64), primary_key=True),
    Column("hour", DateTime(timezone=True), primary_key=True),
    Column("subject_ref", String(64), primary_key=True),
)

automated_decisions = Table(
    "automated_decisions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("subject_id", String(64), nullable=False),
    Column("purpose", String(100), nullable=False),
    Column("model", String(200), nullable=False),
    Column("model_version", String(200), nullable=False),
    Column("inputs", LargeBinary, nullable=False),  # JSON object, sealed (subject key, I3)
    Column("categories", Text, nullable=False),  # comma-separated category ids
    Column("outcome", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("recorded_by", String(64), nullable=False),
    Index("ix_automated_decisions_subject_id", "subject_id"),
)

review_requests = Table(
    "review_requests",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("decision_id", String(64), ForeignKey("automated_decisions.id"), nullable=False),
    Column("requested_by", String(64), nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("reason", LargeBinary, nullable=False),  # sealed under the subject's key (I3)
    Column("status", String(16), nullable=False),
    Column("reviewer", String(64), nullable=True),
    Column("outcome", String(16), nullable=True),
    Column("new_outcome", Text, nullable=True),
    Column("note", LargeBinary, nullable=True),  # sealed under the subject's key (I3)
    Column("reviewed_at", DateTime(timezone=True), nullable=True),
    Index("ix_review_requests_decision_id", "decision_id"),
)
