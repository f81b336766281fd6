"""SQL repositories of the audit log and automated decisions (sealing: I3); alerts and the
monitoring windows are in ``monitoring.py``."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, Row, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from carprivacy.adapters.db.repositories.sealing import FieldSealer
from carprivacy.adapters.db.tables.access import (
    audit_checkpoints,
    audit_log,
    audit_log_subjects,
    automated_decisions,
    review_requests,
)
from carprivacy.domain.audit import ENTRY_FIELDS, AuditEntry, Checkpoint
from carprivacy.domain.automated_decisions import (
    AutomatedDecision,
    ReviewOutcome,
    ReviewRequest,
    ReviewStatus,
)
from carprivacy.domain.errors import AuditChainConflictError, KeyDestroyedError, NotFoundError
from carprivacy.services.audit.trail import AuditQuery
from carprivacy.services.ports.crypto import FieldCipher


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _opt_utc(value: datetime | None) -> datetime | None:
    return None if value is None else _utc(value)


class SqlAuditLogRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    _columns = tuple(audit_log.c[name] for name in ENTRY_FIELDS)

    @staticmethod
    def _entry(row: Row[Any]) -> AuditEntry:
        return AuditEntry(*row)  # type: ignore[call-arg]  # selected in ENTRY_FIELDS order

    def head(self) -> tuple[int, str] | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)
            ).first()
        return None if row is None else (int(row.seq), str(row.hash))

    def append(self, entries: Sequence[AuditEntry]) -> None:
        """The entries, and the subjects each list entry names (its index), in one transaction."""
        rows = [dict(e.__dict__) for e in entries]
        named = [
            {"subject_ref": ref, "seq": e.seq}
            for e in entries
            if e.subjects
            for ref in dict.fromkeys(e.subjects.split(","))
            if ref
        ]
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(audit_log), rows)
                if named:
                    conn.execute(insert(audit_log_subjects), named)
        except IntegrityError as exc:
            raise AuditChainConflictError("seq taken") from exc

    def iter_entries(self, batch: int = 5000) -> Iterator[AuditEntry]:
        after = 0
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    select(*self._columns)
                    .where(audit_log.c.seq > after)
                    .order_by(audit_log.c.seq)
                    .limit(batch)
                ).all()
            for row in rows:
                yield self._entry(row)
            if len(rows) < batch:
                return
            after = int(rows[-1][0])

    def find(self, query: AuditQuery) -> list[AuditEntry]:
        c = audit_log.c
        stmt = select(*self._columns).where(c.seq > query.after_seq)
        if query.caller_id:
            stmt = stmt.where(c.caller_id == query.caller_id)
        if query.subject_ref:  # the entries about it, and the list entries that name it
            listed = audit_log_subjects.c
            stmt = stmt.where(
                or_(
                    c.subject_ref == query.subject_ref,
                    c.seq.in_(select(listed.seq).where(listed.subject_ref == query.subject_ref)),
                )
            )
        if query.purpose:
            stmt = stmt.where(c.purpose == query.purpose)
        if query.outcome:
            stmt = stmt.where(c.outcome == query.outcome)
        if query.since:
            stmt = stmt.where(c.at >= query.since)
        if query.until:
            stmt = stmt.where(c.at < query.until)
        with self.engine.connect() as conn:
            rows = conn.execute(stmt.order_by(c.seq).limit(query.limit)).all()
        return [self._entry(r) for r in rows]

    def add_checkpoint(self, checkpoint: Checkpoint) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(audit_checkpoints).values(
                    seq=checkpoint.seq,
                    entry_hash=checkpoint.entry_hash,
                    at=checkpoint.at,
                    key_id=checkpoint.key_id,
                    signature=checkpoint.signature,
                )
            )

    def checkpoints(self) -> list[Checkpoint]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(audit_checkpoints).order_by(audit_checkpoints.c.seq)).all()
        return [Checkpoint(r.seq, r.entry_hash, r.at, r.key_id, r.signature) for r in rows]


class SqlAutomatedDecisionRepository:
    """Automated decisions and their reviews. What describes the person (the decision's inputs,
    which may be position or payment data; a review's reason and note) is sealed under the
    subject's data key (I3), bound to table/column/row: once the key is shredded (erasure, R3)
    the records stay and those values read as erased (empty inputs and reason, no note)."""

    def __init__(self, engine: Engine, cipher: FieldCipher) -> None:
        self.engine = engine
        self._sealer = FieldSealer(cipher)

    def _seal(self, subject_id: str, table: str, column: str, row_id: str, text: str) -> bytes:
        blob = self._sealer.seal(subject_id, table, column, row_id, text)
        assert blob is not None
        return blob

    def _open(
        self, subject_id: str, table: str, column: str, row_id: str, blob: bytes | None
    ) -> str | None:
        try:
            return self._sealer.open(subject_id, table, column, row_id, blob)
        except KeyDestroyedError:
            return None  # erased by crypto-shredding: the record stays, the text is gone

    def add(self, decision: AutomatedDecision) -> None:
        inputs = json.dumps(decision.inputs, sort_keys=True)
        with self.engine.begin() as conn:
            conn.execute(
                insert(automated_decisions).values(
                    id=decision.id,
                    subject_id=decision.subject_id,
                    purpose=decision.purpose,
                    model=decision.model,
                    model_version=decision.model_version,
                    inputs=self._seal(
                        decision.subject_id, "automated_decisions", "inputs", decision.id, inputs
                    ),
                    categories=",".join(decision.categories),
                    outcome=decision.outcome,
                    at=_utc(decision.at),
                    recorded_by=decision.recorded_by,
                )
            )

    def get(self, decision_id: str) -> AutomatedDecision | None:
        t = automated_decisions
        with self.engine.connect() as conn:
            r = conn.execute(select(t).where(t.c.id == decision_id)).first()
        if r is None:
            return None
        inputs = self._open(r.subject_id, "automated_decisions", "inputs", r.id, r.inputs)
        return AutomatedDecision(
            id=r.id,
            subject_id=r.subject_id,
            purpose=r.purpose,
            model=r.model,
            model_version=r.model_version,
            inputs={} if inputs is None else json.loads(inputs),
            categories=tuple(c for c in r.categories.split(",") if c),
            outcome=r.outcome,
            at=_utc(r.at),
            recorded_by=r.recorded_by,
        )

    @staticmethod
    def _subject_of(conn: Connection, decision_id: str) -> str:
        t = automated_decisions
        subject = conn.execute(select(t.c.subject_id).where(t.c.id == decision_id)).scalar()
        if subject is None:
            raise NotFoundError("automated decision", decision_id)
        return str(subject)

    def add_review(self, review: ReviewRequest) -> None:
        with self.engine.begin() as conn:
            subject = self._subject_of(conn, review.decision_id)
            conn.execute(
                insert(review_requests).values(
                    id=review.id,
                    decision_id=review.decision_id,
                    requested_by=review.requested_by,
                    requested_at=_utc(review.requested_at),
                    reason=self._seal(
                        subject, "review_requests", "reason", review.id, review.reason
                    ),
                    **self._decided(subject, review),
                )
            )

    def save_review(self, review: ReviewRequest) -> None:
        """Store the decision on a review (the request itself, with its reason, is unchanged)."""
        with self.engine.begin() as conn:
            subject = self._subject_of(conn, review.decision_id)
            conn.execute(
                update(review_requests)
                .where(review_requests.c.id == review.id)
                .values(**self._decided(subject, review))
            )

    def _decided(self, subject_id: str, review: ReviewRequest) -> dict[str, Any]:
        try:
            note = self._sealer.seal(subject_id, "review_requests", "note", review.id, review.note)
        except KeyDestroyedError:
            note = None  # the subject is erased: nothing about them is kept
        return {
            "status": review.status.value,
            "reviewer": review.reviewer,
            "outcome": review.outcome.value if review.outcome else None,
            "new_outcome": review.new_outcome,
            "note": note,
            "reviewed_at": _opt_utc(review.reviewed_at),
        }

    def _reviews(self, where: ColumnElement[bool]) -> list[ReviewRequest]:
        t = review_requests
        stmt = (
            select(t, automated_decisions.c.subject_id)
            .join(automated_decisions, automated_decisions.c.id == t.c.decision_id)
            .where(where)
            .order_by(t.c.requested_at, t.c.id)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return [self._review(r) for r in rows]

    def review(self, review_id: str) -> ReviewRequest | None:
        found = self._reviews(review_requests.c.id == review_id)
        return found[0] if found else None

    def reviews_of(self, decision_id: str) -> list[ReviewRequest]:
        return self._reviews(review_requests.c.decision_id == decision_id)

    def _review(self, r: Row[Any]) -> ReviewRequest:
        table = "review_requests"
        return ReviewRequest(
            id=r.id,
            decision_id=r.decision_id,
            requested_by=r.requested_by,
            requested_at=_utc(r.requested_at),
            reason=self._open(r.subject_id, table, "reason", r.id, r.reason) or "",
            status=ReviewStatus(r.status),
            reviewer=r.reviewer,
            outcome=ReviewOutcome(r.outcome) if r.outcome else None,
            new_outcome=r.new_outcome,
            note=self._open(r.subject_id, table, "note", r.id, r.note),
            reviewed_at=_opt_utc(r.reviewed_at),
        )
