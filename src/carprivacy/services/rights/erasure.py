"""An erasure request carried out by the erasure service (SPEC R3; Art. 17 GDPR): the request
workflow's ``ErasureExecutor`` port answered by ``ErasureService``, as a service caller of the
request's controller. The workflow tells the person the outcome (what was erased, what was kept
and why); the erasure service's own notice is not sent a second time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from carprivacy.domain.access import Caller, CallerKind, Role
from carprivacy.services.erasure.service import ErasureService
from carprivacy.services.rights.ports import ErasureOutcome


@dataclass(frozen=True)
class RequestErasure:
    service: ErasureService

    def erase(
        self, subject_id: str, *, controller: str, request_id: str, by: str, at: datetime
    ) -> ErasureOutcome:
        actor = Caller(by, CallerKind.MACHINE, Role.SERVICE, controller)
        report = self.service.erase(
            subject_id,
            actor,
            f"erasure request {request_id} (Art. 17 GDPR)",
            controller,
            notify=False,
        )
        erased = tuple(f"{g.category} ({g.table}: {g.rows})" for g in report.erased if g.rows)
        kept = tuple(
            (f"{g.category} ({g.table}: {g.rows})", f"{g.reason} ({g.article})")
            for g in report.kept
            if g.rows
        )
        return ErasureOutcome(erased, kept)
