"""Who the operator's commands read as: the CLI runs with the platform's own keys, so its reads
are those of an internal system of the national controller (role ``service``), and like every
read they name a purpose, are decided by the gate and land in the audit log as the operator's."""

from __future__ import annotations

from carprivacy.domain.access import Caller, CallerKind, Role
from carprivacy.domain.policy import Policy

OPERATOR_ID = "operator"


def operator(policy: Policy) -> Caller:
    """The operator of this installation: an internal system of the national controller (the
    controller that does not own the group login account), else of the first controller."""
    national = [c for c in policy.controllers if not c.account_owner] or list(policy.controllers)
    organisation = national[0].id if national else ""
    return Caller(OPERATOR_ID, CallerKind.MACHINE, Role.SERVICE, organisation)
