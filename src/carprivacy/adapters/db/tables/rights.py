"""Rights requests, rectification history, access copies and transmission receipts (SPEC R1-R8).
Migration: 0019_rights_requests (keep in step).

- ``rights_requests``: one row a request. In the clear what the workflow and the officer's lists
  need (kind, subject, controller, channel, state, receipt, due instant, verification) and the
  history's who/when (``history``: JSON of before, after, at, by) and the extensions' months,
  author and time; sealed under the person's key (``subject:<id>``, bound to table, column and
  row) what describes the person: the reasons of the history (``reasons``), what the request asks
  (``details``: a new address, grounds, an endpoint) and what was done (``outcome``). An e-mail
  verification code is kept only as a keyed hash with its expiry and attempts left. Once the
  person's key is destroyed (erasure) the request stays as the record of what was asked and done;
  its sealed parts read as erased.
- ``rectification_history``: every field a rectification changed; old and new value sealed.
- ``export_copies``: the copies given under Art. 15(3) (when, format, who, fee flagged).
- ``transmission_receipts``: direct transmissions (Art. 20(2)); endpoint and answer sealed.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from carprivacy.adapters.db.base import metadata

ID = 64

rights_requests = Table(
    "rights_requests",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("subject_id", String(ID), nullable=False),
    Column("controller", String(64), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("state", String(20), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("due_by", DateTime(timezone=True), nullable=False),
    Column("verification", String(16), nullable=True),
    Column("language", String(2), nullable=False),
    Column("history", Text, nullable=False),
    Column("extensions", Text, nullable=False),
    Column("reasons", LargeBinary, nullable=False),
    Column("details", LargeBinary, nullable=False),
    Column("outcome", LargeBinary, nullable=False),
    Column("code_digest", String(64), nullable=True),
    Column("code_expires_at", DateTime(timezone=True), nullable=True),
    Column("code_attempts", Integer, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
Index("ix_rights_requests_subject_id", rights_requests.c.subject_id)
Index("ix_rights_requests_state_due_by", rights_requests.c.state, rights_requests.c.due_by)

rectification_history = Table(
    "rectification_history",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("subject_id", String(ID), nullable=False),
    Column("request_id", String(ID), nullable=False),
    Column("record", String(32), nullable=False),
    Column("field", String(64), nullable=False),
    Column("old_value", LargeBinary, nullable=True),
    Column("new_value", LargeBinary, nullable=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("by", String(120), nullable=False),
)
Index("ix_rectification_history_subject_id", rectification_history.c.subject_id)

export_copies = Table(
    "export_copies",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("subject_id", String(ID), nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("format", String(8), nullable=False),
    Column("caller_id", String(120), nullable=False),
    Column("fee_flagged", Boolean, nullable=False),
)
Index("ix_export_copies_subject_id", export_copies.c.subject_id)

transmission_receipts = Table(
    "transmission_receipts",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("subject_id", String(ID), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("caller_id", String(120), nullable=False),
    Column("endpoint", LargeBinary, nullable=False),
    Column("format", String(8), nullable=False),
    Column("status", String(16), nullable=False),
    Column("http_status", Integer, nullable=True),
    Column("digest", String(64), nullable=False),
    Column("bytes_sent", BigInteger, nullable=False),
    Column("answer", LargeBinary, nullable=False),
)
Index("ix_transmission_receipts_subject_id", transmission_receipts.c.subject_id)
