"""The dependency of the consent, objection and restriction routes: the caller, when it may
record choices of the path's subject (``services/consent/acting.py``), and the subject known."""

from __future__ import annotations

from fastapi import Depends, Header, Query

from carprivacy.domain.access import Caller
from carprivacy.entrypoints.api.auth import get_caller
from carprivacy.entrypoints.api.deps import get_decisions, get_master
from carprivacy.services.access.decisions import DecisionService
from carprivacy.services.consent.acting import check_acting
from carprivacy.services.master.service import MasterDataService


def acting_for(
    subject_id: str,
    purpose: str | None = Query(None, description="Staff: the purpose they act under."),
    x_purpose: str | None = Header(None, alias="X-Purpose"),
    caller: Caller = Depends(get_caller),
    decisions: DecisionService = Depends(get_decisions),
    master: MasterDataService = Depends(get_master),
) -> Caller:
    check_acting(decisions, caller, subject_id, purpose or x_purpose)
    master.get_customer(subject_id)  # 404 for an unknown subject
    return caller
