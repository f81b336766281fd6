"""Who may record a person's choices: the person themselves, or staff on their behalf.

A customer token acts for its own subject only. Staff (customer service, privacy officer) name
the purpose they act under (query parameter ``purpose`` or header ``X-Purpose``); the decision
engine's static rules must allow that role and purpose to use the person's contact data, and the
refusal is recorded like any other. The subject must be known to master data.
"""

from __future__ import annotations

from fastapi import Depends, Header, Query

from carprivacy.domain.access import Caller, DecisionRequest, Role
from carprivacy.domain.errors import AccessDeniedError
from carprivacy.entrypoints.api.auth import get_caller
from carprivacy.entrypoints.api.deps import get_decisions, get_master
from carprivacy.services.access.decisions import DecisionService
from carprivacy.services.master.service import MasterDataService

STAFF = frozenset({Role.CUSTOMER_SERVICE, Role.PRIVACY_OFFICER})


def acting_for(
    subject_id: str,
    purpose: str | None = Query(None, description="Staff: the purpose they act under."),
    x_purpose: str | None = Header(None, alias="X-Purpose"),
    caller: Caller = Depends(get_caller),
    decisions: DecisionService = Depends(get_decisions),
    master: MasterDataService = Depends(get_master),
) -> Caller:
    """The caller, when it may record choices of ``subject_id``."""
    if caller.role is Role.CUSTOMER:
        if caller.subject_id != subject_id:
            raise AccessDeniedError(
                "customers record and read their own choices only", ("caller.not_own_data",)
            )
    elif caller.role in STAFF:
        named = (purpose or x_purpose or "").strip()
        if not named:
            raise AccessDeniedError(
                "staff name the purpose they act under (purpose or X-Purpose)",
                ("purpose.required",),
            )
        request = DecisionRequest(
            caller, named, ("contact",), decisions.clock(), subject_id=subject_id
        )
        refused = decisions.screen(request)
        if refused is not None:
            raise AccessDeniedError(
                "this role may not act for the person under this purpose",
                tuple(str(r) for r in refused.reasons),
            )
    else:
        names = ", ".join(sorted(r.value for r in (Role.CUSTOMER, *STAFF)))
        raise AccessDeniedError(f"this needs the role {names}", ("caller.role",))
    master.get_customer(subject_id)  # 404 for an unknown subject
    return caller
