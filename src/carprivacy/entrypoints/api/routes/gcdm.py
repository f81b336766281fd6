"""The CarData device authorisation endpoints at the published paths (SPEC C2, U1): a CarData
client pointed at carprivacy asks ``POST /gcdm/oauth/device/code`` for a device code and polls
``POST /gcdm/oauth/token`` (RFC 8628 with PKCE S256, RFC 7636; the refresh-token grant with
rotation). Both take forms and answer RFC 6749 error bodies; nothing here is logged, and the
device code travels in form bodies only, never in a URL."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form
from fastapi.responses import JSONResponse

from carprivacy.entrypoints.api.deps import get_cardata
from carprivacy.entrypoints.api.schemas.cardata import DeviceCodeOut, OAuthError, TokenSetOut
from carprivacy.services.cardata.authorisation import CarDataAuthorisation

router = APIRouter(prefix="/gcdm/oauth", tags=["CarData authorisation"])
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": OAuthError, "description": "refused: the error code says why (RFC 6749/8628)"},
    401: {"model": OAuthError, "description": "invalid_client: the client id is unknown"},
}


@router.post(
    "/device/code",
    response_model=DeviceCodeOut,
    summary="Device authorisation request (RFC 8628 section 3.1, PKCE S256)",
    responses=ERRORS,
)
def device_code(
    client_id: str | None = Form(None, max_length=64),
    response_type: str | None = Form(None, max_length=32),
    scope: str | None = Form(None, max_length=512),
    code_challenge: str | None = Form(None, max_length=128),
    code_challenge_method: str | None = Form(None, max_length=16),
    cardata: CarDataAuthorisation = Depends(get_cardata),
) -> JSONResponse:
    answer = cardata.start(
        client_id or "", response_type, scope, code_challenge, code_challenge_method
    )
    return JSONResponse(DeviceCodeOut.of(answer).model_dump(), headers=NO_STORE)


@router.post(
    "/token",
    response_model=TokenSetOut,
    summary="Token endpoint: the device code grant and the refresh-token grant",
    responses=ERRORS,
)
def token(
    grant_type: str | None = Form(None, max_length=64),
    client_id: str | None = Form(None, max_length=64),
    device_code: str | None = Form(None, max_length=128),
    code_verifier: str | None = Form(None, max_length=128),
    refresh_token: str | None = Form(None, max_length=128),
    cardata: CarDataAuthorisation = Depends(get_cardata),
) -> JSONResponse:
    tokens = cardata.token(
        grant_type,
        client_id=client_id,
        device_code=device_code,
        code_verifier=code_verifier,
        refresh_token=refresh_token,
    )
    return JSONResponse(TokenSetOut.of(tokens).model_dump(), headers=NO_STORE)
