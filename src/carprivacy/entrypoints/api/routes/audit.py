"""The audit log for the privacy officer (SPEC U3, B1): entries, integrity check,
checkpoints. Entries hold pseudonymous subject references only; the officer can look up the
accesses to one subject by its id, which is turned into the same keyed reference."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query, status

from carprivacy.domain.access import Caller, Role
from carprivacy.entrypoints.api.auth import require_role
from carprivacy.entrypoints.api.deps import get_audit
from carprivacy.entrypoints.api.schemas import query
from carprivacy.entrypoints.api.schemas.access import (
    AuditEntryOut,
    CheckpointOut,
    VerificationOut,
)
from carprivacy.services.audit.trail import AuditQuery, AuditService, iso

router = APIRouter(prefix="/v1/audit", tags=["audit"])
officer = require_role(Role.PRIVACY_OFFICER)


@router.get("", response_model=list[AuditEntryOut])
def list_audit(
    caller_id: str | None = Query(None),
    subject_id: str | None = Query(None, description="Accesses to this subject (pseudonymised)."),
    purpose: str | None = Query(None),
    outcome: str | None = Query(None, pattern="^(allow|deny)$"),
    since: datetime | None = Query(None),
    until: datetime | None = Query(None),
    after_seq: int = query.after("Entries after this sequence number."),
    limit: int = query.limit(100, 1000),
    _: Caller = Depends(officer),
    audit: AuditService = Depends(get_audit),
) -> list[AuditEntryOut]:
    query = AuditQuery(
        caller_id=caller_id,
        subject_ref=audit.subject_ref(subject_id) if subject_id else None,
        purpose=purpose,
        outcome=outcome,
        since=iso(since) if since else None,
        until=iso(until) if until else None,
        after_seq=after_seq,
        limit=limit,
    )
    return [AuditEntryOut.of(e) for e in audit.find(query)]


@router.get("/verify", response_model=VerificationOut)
def verify_audit(
    _: Caller = Depends(require_role(Role.PRIVACY_OFFICER, Role.ADMINISTRATOR)),
    audit: AuditService = Depends(get_audit),
) -> VerificationOut:
    return VerificationOut.of(audit.verify())


@router.post(
    "/checkpoints", status_code=status.HTTP_201_CREATED, response_model=CheckpointOut | None
)
def create_checkpoint(
    _: Caller = Depends(require_role(Role.PRIVACY_OFFICER, Role.ADMINISTRATOR)),
    audit: AuditService = Depends(get_audit),
) -> CheckpointOut | None:
    cp = audit.checkpoint()
    if cp is None:
        return None
    return CheckpointOut(
        seq=cp.seq, entry_hash=cp.entry_hash, at=cp.at, key_id=cp.key_id, signature=cp.signature
    )
