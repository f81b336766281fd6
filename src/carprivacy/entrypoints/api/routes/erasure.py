"""Erasure by the privacy officer (SPEC R3, Art. 17): ``POST /v1/customers/{customer_id}/erasure``
erases what the law lets go at one controller or both, and answers what was erased and what was
kept and why. Calling it again resumes an interrupted erasure or returns the finished report."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from carprivacy.domain.access import Caller, Role
from carprivacy.entrypoints.api.auth import require_role
from carprivacy.entrypoints.api.deps import get_erasure
from carprivacy.entrypoints.api.schemas.erasure import ErasureIn, ErasureOut
from carprivacy.services.erasure.service import ErasureService

router = APIRouter(tags=["erasure"])


@router.post("/v1/customers/{customer_id}/erasure", response_model=ErasureOut)
def erase_customer(
    customer_id: str,
    body: ErasureIn,
    caller: Caller = Depends(require_role(Role.PRIVACY_OFFICER)),
    erasure: ErasureService = Depends(get_erasure),
) -> ErasureOut:
    report = erasure.erase(
        customer_id, caller, body.reason, body.controller, language=body.language
    )
    return ErasureOut.of(report)
