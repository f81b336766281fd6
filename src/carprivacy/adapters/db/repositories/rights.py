"""Rights requests, rectification history, access copies and transmission receipts in SQL
(SPEC R1-R8, I3). Layout and what is sealed: adapters/db/tables/rights.py.

What describes the person is sealed under their key, bound to table/column/row; once the key is
destroyed (erasure) the rows stay, and those values read as erased: a request's reasons as
empty, its details and outcome as ``{}`` (``StoredRequest.sealed_erased``), a rectification's
values and a receipt's endpoint and answer as None / empty.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, insert, select, true, update

from carprivacy.adapters.db.repositories.sealing import (
    FieldSealer,
    from_db_time,
    opt_from_db_time,
    opt_to_db_time,
    to_db_time,
)
from carprivacy.adapters.db.tables.rights import (
    export_copies,
    rectification_history,
    rights_requests,
    transmission_receipts,
)
from carprivacy.domain.errors import KeyDestroyedError
from carprivacy.domain.exports import CopyIssue
from carprivacy.domain.policy import DeadlineRule
from carprivacy.domain.request_deadlines import Extension, deadline_for
from carprivacy.domain.request_workflow import (
    DataSubjectRequest,
    RequestChannel,
    RequestKind,
    RequestState,
    StateChange,
    Verification,
)
from carprivacy.domain.telemetry import QuarantineRow
from carprivacy.services.exports.ports import TransmissionReceipt
from carprivacy.services.ports.crypto import FieldCipher
from carprivacy.services.rights.ports import EmailCode, FieldChange, RequestFilter, StoredRequest

FINAL = [s.value for s in RequestState if s.final]
ERASED = b""  # a sealed column written once the person's key was destroyed
T = "rights_requests"


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


class SqlRightsRequestRepository:
    def __init__(self, engine: Engine, cipher: FieldCipher) -> None:
        self.engine = engine
        self._sealer = FieldSealer(cipher)

    def _seal(self, subject: str, column: str, row: str, value: Any) -> bytes:
        blob = self._sealer.seal(subject, T, column, row, _dumps(value))
        assert blob is not None
        return blob

    def _open(self, subject: str, column: str, row: str, blob: bytes) -> Any:
        text = self._sealer.open(subject, T, column, row, blob)
        return json.loads(text or "null")

    def _values(self, stored: StoredRequest) -> dict[str, Any]:
        r = stored.request
        d = r.deadline
        history = [
            {
                "before": None if h.before is None else h.before.value,
                "after": h.after.value,
                "at": to_db_time(h.at).isoformat(),
                "by": h.by,
            }
            for h in r.history
        ]
        extensions = {
            "months": d.months,
            "limit": d.extension_limit,
            "taken": [
                {
                    "months": e.months,
                    "by": e.decided_by,
                    "told_at": to_db_time(e.told_at).isoformat(),
                }
                for e in d.extensions
            ],
        }
        reasons = {
            "history": [h.reason for h in r.history],
            "extensions": [e.reason for e in d.extensions],
        }
        try:
            if stored.sealed_erased:
                raise KeyDestroyedError()
            sealed = {
                "reasons": self._seal(r.subject_id, "reasons", r.id, reasons),
                "details": self._seal(r.subject_id, "details", r.id, dict(stored.details)),
                "outcome": self._seal(r.subject_id, "outcome", r.id, dict(stored.outcome)),
            }
        except KeyDestroyedError:  # erased: the record of who did what and when stays
            sealed = {"reasons": ERASED, "details": ERASED, "outcome": ERASED}
        code = stored.code
        return {
            "kind": r.kind.value,
            "subject_id": r.subject_id,
            "controller": r.controller,
            "channel": r.channel.value,
            "state": r.state.value,
            "received_at": to_db_time(d.received_at),
            "due_by": d.due_by,
            "verification": None if r.verification is None else r.verification.value,
            "language": stored.language,
            "history": _dumps(history),
            "extensions": _dumps(extensions),
            **sealed,
            "code_digest": None if code is None else code.digest,
            "code_expires_at": None if code is None else opt_to_db_time(code.expires_at),
            "code_attempts": None if code is None else code.attempts_left,
            "updated_at": to_db_time(r.history[-1].at),
        }

    def add(self, stored: StoredRequest) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(rights_requests).values(id=stored.request.id, **self._values(stored))
            )

    def save(self, stored: StoredRequest) -> None:
        t = rights_requests
        with self.engine.begin() as conn:
            conn.execute(
                update(t).where(t.c.id == stored.request.id).values(**self._values(stored))
            )

    def _stored(self, m: Any) -> StoredRequest:
        erased = False
        try:
            if bytes(m["reasons"]) == ERASED:
                raise KeyDestroyedError()
            reasons = self._open(m["subject_id"], "reasons", m["id"], m["reasons"])
            details = self._open(m["subject_id"], "details", m["id"], m["details"])
            outcome = self._open(m["subject_id"], "outcome", m["id"], m["outcome"])
        except KeyDestroyedError:
            erased = True
            reasons, details, outcome = {"history": [], "extensions": []}, {}, {}
        history_reasons = list(reasons["history"])
        history = tuple(
            StateChange(
                None if h["before"] is None else RequestState(h["before"]),
                RequestState(h["after"]),
                datetime.fromisoformat(h["at"]),
                h["by"],
                history_reasons[i] if i < len(history_reasons) else "",
            )
            for i, h in enumerate(json.loads(m["history"]))
        )
        ext = json.loads(m["extensions"])
        ext_reasons = list(reasons["extensions"])
        received = from_db_time(m["received_at"])
        deadline = deadline_for(
            received, DeadlineRule(months=ext["months"], extension_months=ext["limit"])
        )
        taken = tuple(
            Extension(
                e["months"],
                ext_reasons[i] if i < len(ext_reasons) else "",
                e["by"],
                datetime.fromisoformat(e["told_at"]),
            )
            for i, e in enumerate(ext["taken"])
        )
        deadline = replace(deadline, extensions=taken)
        request = DataSubjectRequest(
            id=m["id"],
            kind=RequestKind(m["kind"]),
            subject_id=m["subject_id"],
            controller=m["controller"],
            channel=RequestChannel(m["channel"]),
            deadline=deadline,
            history=history,
            verification=None if m["verification"] is None else Verification(m["verification"]),
        )
        code = None
        if m["code_digest"] is not None:
            expires = opt_from_db_time(m["code_expires_at"])
            assert expires is not None
            code = EmailCode(m["code_digest"], expires, int(m["code_attempts"] or 0))
        return StoredRequest(request, details, outcome, m["language"], code, erased)

    def get(self, request_id: str) -> StoredRequest | None:
        t = rights_requests
        with self.engine.connect() as conn:
            m = conn.execute(select(t).where(t.c.id == request_id)).mappings().first()
        return None if m is None else self._stored(m)

    def find(self, query: RequestFilter) -> list[StoredRequest]:
        t = rights_requests
        where = []
        if query.subject_id is not None:
            where.append(t.c.subject_id == query.subject_id)
        if query.state is not None:
            where.append(t.c.state == query.state.value)
        if query.open_only or query.due_before is not None:
            where.append(t.c.state.not_in(FINAL))
        if query.due_before is not None:
            where.append(t.c.due_by <= to_db_time(query.due_before))
        q = (
            select(t)
            .where(and_(true(), *where))
            .order_by(t.c.due_by, t.c.id)
            .limit(query.limit)
            .offset(query.offset)
        )
        with self.engine.connect() as conn:
            return [self._stored(m) for m in conn.execute(q).mappings()]


class SqlRectificationLog:
    def __init__(self, engine: Engine, cipher: FieldCipher) -> None:
        self.engine = engine
        self._sealer = FieldSealer(cipher)

    def add(self, changes: list[FieldChange]) -> None:
        if not changes:
            return
        s, t = self._sealer, "rectification_history"
        rows = [
            {
                "id": c.id,
                "subject_id": c.subject_id,
                "request_id": c.request_id,
                "record": c.record,
                "field": c.field,
                "old_value": s.seal(c.subject_id, t, "old_value", c.id, c.old_value),
                "new_value": s.seal(c.subject_id, t, "new_value", c.id, c.new_value),
                "at": to_db_time(c.at),
                "by": c.by,
            }
            for c in changes
        ]
        with self.engine.begin() as conn:
            conn.execute(insert(rectification_history), rows)

    def of(self, subject_id: str) -> list[FieldChange]:
        t = rectification_history
        q = select(t).where(t.c.subject_id == subject_id).order_by(t.c.at, t.c.id)
        with self.engine.connect() as conn:
            found = list(conn.execute(q).mappings())
        out = []
        for m in found:
            try:
                old = self._sealer.open(subject_id, t.name, "old_value", m["id"], m["old_value"])
                new = self._sealer.open(subject_id, t.name, "new_value", m["id"], m["new_value"])
            except KeyDestroyedError:
                old = new = None
            out.append(
                FieldChange(
                    m["id"],
                    subject_id,
                    m["request_id"],
                    m["record"],
                    m["field"],
                    old,
                    new,
                    from_db_time(m["at"]),
                    m["by"],
                )
            )
        return out


class SqlExportStore:
    """The ExportStore port: copies given, transmission receipts, a subject's quarantine."""

    def __init__(self, engine: Engine, cipher: FieldCipher) -> None:
        self.engine = engine
        self._sealer = FieldSealer(cipher)

    def copies_of(self, subject_id: str) -> list[CopyIssue]:
        t = export_copies
        q = select(t).where(t.c.subject_id == subject_id).order_by(t.c.issued_at, t.c.id)
        with self.engine.connect() as conn:
            return [
                CopyIssue(
                    m["id"],
                    m["subject_id"],
                    from_db_time(m["issued_at"]),
                    m["format"],
                    m["caller_id"],
                    bool(m["fee_flagged"]),
                )
                for m in conn.execute(q).mappings()
            ]

    def add_copy(self, issue: CopyIssue) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(export_copies).values(
                    id=issue.id,
                    subject_id=issue.subject_id,
                    issued_at=to_db_time(issue.issued_at),
                    format=issue.format,
                    caller_id=issue.caller_id,
                    fee_flagged=issue.fee_flagged,
                )
            )

    def add_receipt(self, receipt: TransmissionReceipt) -> None:
        s, t, r = self._sealer, "transmission_receipts", receipt
        with self.engine.begin() as conn:
            conn.execute(
                insert(transmission_receipts).values(
                    id=r.id,
                    subject_id=r.subject_id,
                    at=to_db_time(r.at),
                    caller_id=r.caller_id,
                    endpoint=s.seal(r.subject_id, t, "endpoint", r.id, r.endpoint),
                    format=r.format,
                    status=r.status,
                    http_status=r.http_status,
                    digest=r.digest,
                    bytes_sent=r.bytes_sent,
                    answer=s.seal(r.subject_id, t, "answer", r.id, r.answer),
                )
            )

    def receipts_of(self, subject_id: str) -> list[TransmissionReceipt]:
        t = transmission_receipts
        q = select(t).where(t.c.subject_id == subject_id).order_by(t.c.at, t.c.id)
        with self.engine.connect() as conn:
            found = list(conn.execute(q).mappings())
        out = []
        for m in found:
            try:
                endpoint = self._sealer.open(subject_id, t.name, "endpoint", m["id"], m["endpoint"])
                answer = self._sealer.open(subject_id, t.name, "answer", m["id"], m["answer"])
            except KeyDestroyedError:
                endpoint = answer = None
            out.append(
                TransmissionReceipt(
                    m["id"],
                    subject_id,
                    from_db_time(m["at"]),
                    m["caller_id"],
                    endpoint or "",
                    m["format"],
                    m["status"],
                    m["http_status"],
                    m["digest"],
                    int(m["bytes_sent"]),
                    answer or "",
                )
            )
        return out

    def quarantine_of(
        self, key_owner: str, after_id: int, limit: int
    ) -> list[tuple[int, QuarantineRow]]:
        from carprivacy.adapters.db.repositories.telemetry import _quarantine_row
        from carprivacy.adapters.db.tables.telemetry import telemetry_quarantine

        q = telemetry_quarantine.c
        query = (
            select(telemetry_quarantine)
            .where(q.key_owner == key_owner, q.id > after_id)
            .order_by(q.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [(int(m["id"]), _quarantine_row(m)) for m in conn.execute(query).mappings()]
