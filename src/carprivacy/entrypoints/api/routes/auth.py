"""Logins: OAuth2 client credentials for machines (RFC 6749 section 4.4), password and e-mail code
for people (SPEC U1). Every login answers a short-lived bearer JWT."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Depends, Form, Header, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from carprivacy.domain.errors import AuthenticationError, InvalidInputError
from carprivacy.entrypoints.api.deps import get_callers
from carprivacy.entrypoints.api.errors import ErrorAnswer
from carprivacy.entrypoints.api.schemas.access import (
    EmailCodeIn,
    EmailCodeStarted,
    EmailCodeVerifyIn,
    LoginIn,
    TokenOut,
)
from carprivacy.services.identity.callers import CallerService

router = APIRouter(tags=["authentication"])
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthError(BaseModel):
    """The token endpoint's error answer (RFC 6749 section 5.2)."""

    error: str
    error_description: str


OAUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": OAuthError, "description": "unsupported grant type or scope not granted"},
    401: {"model": OAuthError, "description": "client authentication failed"},
}
LOGIN_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorAnswer, "description": "the login failed (never says which part)"}
}


def _oauth_error(code: int, error: str, description: str) -> JSONResponse:
    headers = dict(NO_STORE)
    if code == 401:
        headers["WWW-Authenticate"] = 'Basic realm="carprivacy"'
    return JSONResponse(
        status_code=code,
        content={"error": error, "error_description": description},
        headers=headers,
    )


def _basic(authorization: str | None) -> tuple[str, str] | None:
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        raw = base64.b64decode(authorization[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = raw.partition(":")
    return (unquote(client_id), unquote(secret)) if sep else None


@router.post(
    "/v1/oauth/token",
    response_model=TokenOut,
    summary="OAuth2 token endpoint (client credentials grant, form-encoded)",
    responses=OAUTH_ERRORS,
)
def oauth_token(
    grant_type: str = Form(...),
    client_id: str | None = Form(None),
    client_secret: str | None = Form(None),
    scope: str | None = Form(None),
    authorization: str | None = Header(None),
    callers: CallerService = Depends(get_callers),
) -> JSONResponse:
    if grant_type != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "only client_credentials is supported")
    basic = _basic(authorization)
    if basic is not None:
        client_id, client_secret = basic
    if not client_id or not client_secret:
        return _oauth_error(401, "invalid_client", "client authentication is required")
    try:
        token = callers.client_credentials(client_id, client_secret, scope)
    except AuthenticationError:
        return _oauth_error(401, "invalid_client", "client authentication failed")
    except InvalidInputError:
        return _oauth_error(400, "invalid_scope", "the requested scope is not granted")
    return JSONResponse(TokenOut.of(token).model_dump(), headers=NO_STORE)


@router.post(
    "/v1/auth/login",
    response_model=TokenOut,
    summary="Person login with a password",
    responses=LOGIN_ERRORS,
)
def login(body: LoginIn, callers: CallerService = Depends(get_callers)) -> JSONResponse:
    token = callers.login_password(body.login, body.password)
    return JSONResponse(TokenOut.of(token).model_dump(), headers=NO_STORE)


@router.post(
    "/v1/auth/email-code",
    response_model=EmailCodeStarted,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send a one-time login code by e-mail",
)
def email_code(
    body: EmailCodeIn, callers: CallerService = Depends(get_callers)
) -> EmailCodeStarted:
    return EmailCodeStarted(code_id=callers.start_email_code(body.email))


@router.post(
    "/v1/auth/email-code/verify",
    response_model=TokenOut,
    summary="Log in with the e-mailed code",
    responses=LOGIN_ERRORS,
)
def email_code_verify(
    body: EmailCodeVerifyIn, callers: CallerService = Depends(get_callers)
) -> JSONResponse:
    token = callers.verify_email_code(body.code_id, body.code)
    return JSONResponse(TokenOut.of(token).model_dump(), headers=NO_STORE)
