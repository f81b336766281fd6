"""Who may record a person's choices: the person themselves, or staff on their behalf (SPEC C4).

A customer acts for its own subject only. Staff (customer service, privacy officer) name the
purpose they act under; the decision engine's static rules must allow that role and purpose to use
the person's contact data (the refusal is audited like any other). Other roles do not act.
"""

from __future__ import annotations

from carprivacy.domain.access import Caller, DecisionRequest, Reason, Role
from carprivacy.domain.decision_index import SECTION_PURPOSES, SECTION_RIGHTS
from carprivacy.domain.errors import AccessDeniedError
from carprivacy.services.access.decisions import DecisionService
from carprivacy.services.access.purposes import check_purpose

STAFF = frozenset({Role.CUSTOMER_SERVICE, Role.PRIVACY_OFFICER})


def check_acting(
    decisions: DecisionService, caller: Caller, subject_id: str, purpose: str | None
) -> None:
    """Raise AccessDeniedError unless ``caller`` may record choices of ``subject_id``."""
    if caller.role is Role.CUSTOMER:
        if caller.subject_id != subject_id:
            raise AccessDeniedError(
                "customers record and read their own choices only",
                (str(decisions.policy.not_own_data),),
            )
        return
    if caller.role not in STAFF:
        names = ", ".join(sorted(r.value for r in (Role.CUSTOMER, *STAFF)))
        reason = Reason(
            "caller.role",
            "Art. 7(1) GDPR",
            SECTION_RIGHTS,
            f"only the person or staff with the role {names} record a person's choices",
        )
        raise AccessDeniedError(f"this needs the role {names}", (str(reason),))
    named = (purpose or "").strip()
    if not named:
        reason = Reason(
            "purpose.required",
            "Art. 5(1)(b) GDPR",
            SECTION_PURPOSES,
            "staff name the purpose they act under",
        )
        raise AccessDeniedError(
            "staff name the purpose they act under (purpose or X-Purpose)", (str(reason),)
        )
    check_purpose(decisions.policy, caller, named)  # undeclared: 422 listing the caller's
    request = DecisionRequest(caller, named, ("contact",), decisions.clock(), subject_id=subject_id)
    refused = decisions.screen(request)
    if refused is not None:
        raise AccessDeniedError(
            "this role may not act for the person under this purpose",
            tuple(str(r) for r in refused.reasons),
        )
