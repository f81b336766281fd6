"""FastAPI dependencies shared by the routes."""

from __future__ import annotations

import hmac

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from carprivacy.bootstrap import Container
from carprivacy.domain.errors import AuthenticationError

bearer = HTTPBearer(auto_error=False)


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


def require_admin(
    creds: HTTPAuthorizationCredentials | None = Depends(bearer),
    container: Container = Depends(get_container),
) -> str:
    """The administrator credential from configuration (CARPRIVACY_ADMIN_TOKEN)."""
    expected = container.settings.admin_token
    if creds is None or expected is None:
        raise AuthenticationError("a bearer token is required")
    if not hmac.compare_digest(creds.credentials.encode(), expected.get_secret_value().encode()):
        raise AuthenticationError("the bearer token is not valid")
    return "admin"
