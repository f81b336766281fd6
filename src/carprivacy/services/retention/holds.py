"""Legal holds (SPEC L1): placed and released by staff, each with its reason and author, each
audited (the subject and vehicle as keyed pseudonyms). An active hold pauses every retention step
for what it covers; the run reads the holds at every batch, so a hold placed during a run
protects what the run has not reached yet."""

from __future__ import annotations

import uuid

from carprivacy.domain.audit import AuditRecord
from carprivacy.domain.errors import ConflictError, NotFoundError
from carprivacy.domain.legal_holds import LegalHold, check_hold, check_release
from carprivacy.domain.policy import Policy
from carprivacy.services.audit.trail import AuditService, iso
from carprivacy.services.ports.clock import Clock
from carprivacy.services.retention.ports import LegalHoldRepository
from carprivacy.services.retention.run import RETENTION_CALLER, RETENTION_PURPOSE


class LegalHoldService:
    def __init__(
        self, policy: Policy, holds: LegalHoldRepository, audit: AuditService, clock: Clock
    ) -> None:
        self.policy = policy
        self.holds = holds
        self.audit = audit
        self.clock = clock

    def place(
        self,
        *,
        subject_id: str | None,
        vehicle_id: str | None,
        category: str | None,
        reason: str,
        created_by: str,
    ) -> LegalHold:
        check_hold(
            subject_id,
            vehicle_id,
            category,
            reason,
            created_by,
            frozenset(self.policy.categories_by_id),
        )
        hold = LegalHold(
            id=str(uuid.uuid4()),
            subject_id=subject_id or None,
            vehicle_id=vehicle_id or None,
            category=category,
            reason=reason.strip(),
            created_by=created_by.strip(),
            created_at=self.clock(),
        )
        self.holds.add(hold)
        self._audit(hold, "placed")
        return hold

    def release(self, hold_id: str, *, released_by: str, reason: str) -> LegalHold:
        check_release(released_by, reason)
        hold = self.holds.get(hold_id)
        if hold is None:
            raise NotFoundError("legal hold", hold_id)
        if not self.holds.release(hold_id, self.clock(), released_by.strip(), reason.strip()):
            # a release is final: place a new hold instead
            raise ConflictError(f"legal hold {hold_id!r} was released already")
        released = self.holds.get(hold_id)
        assert released is not None
        self._audit(released, "released")
        return released

    def list(self, active_only: bool = True) -> list[LegalHold]:
        return self.holds.list(active_only)

    def _audit(self, hold: LegalHold, what: str) -> None:
        self.audit.append(
            [
                AuditRecord(
                    at=iso(self.clock()),
                    caller_id=RETENTION_CALLER,
                    organisation="",
                    role="system",
                    purpose=RETENTION_PURPOSE,
                    subject_ref=self.audit.subject_ref(hold.subject_id),
                    vehicle_ref=self.audit.vehicle_ref(hold.vehicle_id),
                    categories=hold.category or "",
                    outcome="allow",
                    rule=f"legal_hold.{what}",
                    form="",
                    action=f"legal_hold.{what} hold={hold.id}"[:120],
                )
            ]
        )
