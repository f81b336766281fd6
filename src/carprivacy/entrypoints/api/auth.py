"""Authentication and the declared purpose of a read (SPEC U1).

- :func:`get_caller`: the authenticated :class:`Caller` of a request: a bearer JWT issued by
  ``/v1/oauth/token`` (machines), ``/v1/auth/login`` or ``/v1/auth/email-code/verify`` (people), or
  the bootstrap administrator token from configuration (CARPRIVACY_ADMIN_TOKEN);
- :func:`require_role`: the caller, if its role is one of the given ones (else 403);
- :func:`get_purpose`: the purpose a read declares, from the query parameter ``purpose`` or the
  header ``X-Purpose``; a read without one, or with one the policy does not declare, is refused
  (422 naming ``purpose``; the latter lists the purposes this caller may use).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from fastapi import Depends, Header, Query
from fastapi.security import HTTPAuthorizationCredentials

from carprivacy.config import Settings
from carprivacy.domain.access import Caller, CallerKind, Role
from carprivacy.domain.errors import (
    AccessDeniedError,
    AuthenticationError,
    InvalidInputError,
    Problem,
)
from carprivacy.domain.policy import Policy
from carprivacy.entrypoints.api.deps import (
    bearer,
    get_callers,
    get_decisions,
    get_policy,
    get_settings,
)
from carprivacy.services.access.decisions import DecisionService
from carprivacy.services.access.purposes import check_purpose
from carprivacy.services.identity.callers import CallerService

BOOTSTRAP_ADMIN_ID = "admin"
BOOTSTRAP_ORGANISATION = "mini_nl"


def bootstrap_admin(policy: Policy) -> Caller:
    """The administrator of the configuration token: staff of the national controller."""
    org = BOOTSTRAP_ORGANISATION
    if org not in policy.controllers_by_id and policy.controllers:
        org = policy.controllers[0].id
    return Caller(
        id=BOOTSTRAP_ADMIN_ID, kind=CallerKind.PERSON, role=Role.ADMINISTRATOR, organisation=org
    )


def get_caller(
    creds: HTTPAuthorizationCredentials | None = Depends(bearer),
    settings: Settings = Depends(get_settings),
    policy: Policy = Depends(get_policy),
    callers: CallerService = Depends(get_callers),
) -> Caller:
    if creds is None or not creds.credentials:
        raise AuthenticationError("a bearer token is required")
    token = creds.credentials
    admin = settings.admin_token
    if admin is not None and hmac.compare_digest(token.encode(), admin.get_secret_value().encode()):
        return bootstrap_admin(policy)
    return callers.authenticate(token)


def require_role(*roles: Role) -> Callable[..., Caller]:
    """A dependency: the caller, when its role is one of ``roles``."""
    allowed = frozenset(roles)

    def dependency(caller: Caller = Depends(get_caller)) -> Caller:
        if caller.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise AccessDeniedError(f"this needs the role {names}", ("caller.role",))
        return caller

    return dependency


def get_purpose(
    purpose: str | None = Query(
        None, description="The purpose of this read (a purpose id of the policy)."
    ),
    x_purpose: str | None = Header(None, alias="X-Purpose"),
    caller: Caller = Depends(get_caller),
    decisions: DecisionService = Depends(get_decisions),
) -> str:
    value = (purpose or x_purpose or "").strip()
    if not value:
        raise InvalidInputError(
            [
                Problem(
                    "purpose",
                    "required",
                    "name the purpose (query parameter purpose or header X-Purpose)",
                )
            ]
        )
    check_purpose(decisions.policy, caller, value)
    return value
