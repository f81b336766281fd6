"""The erasures of data subjects (SPEC R3, Art. 17). Migration: ``0020_erasure`` (keep in step).

One row per erasure of one subject at one controller scope (``mini_nl``, ``mini_ag`` or ``all``):
its phase (``planned`` -> ``resealed`` -> ``notified`` -> ``shredded`` -> ``completed``), the
moment its exemptions were judged at (``as_of``, so that a resumed erasure judges the same way),
the successor key owner that kept values were moved to, and the report (counts and reasons, JSON,
no personal data). ``reason`` is the staff's reference for the erasure (a request id, an article),
bounded and never shown to other subjects.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, String, Table, Text

from carprivacy.adapters.db.base import metadata

ID = 36

erasures = Table(
    "erasures",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("subject_id", String(ID), nullable=False),
    Column("controller", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("as_of", DateTime(timezone=True), nullable=False),
    Column("successor", String(120), nullable=False),
    Column("requested_by", String(64), nullable=False),
    Column("reason", String(200), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("report", Text, nullable=False),
)
Index("ix_erasures_subject_id", erasures.c.subject_id)
# one unfinished erasure per subject: a second one started beside it would name the first's
# successor key among the keys to destroy while the first still moves kept values to it
Index(
    "uq_erasures_open",
    erasures.c.subject_id,
    unique=True,
    sqlite_where=erasures.c.state != "completed",
    postgresql_where=erasures.c.state != "completed",
)
