"""GET /v1/policy, /v1/policy/notice, /v1/policy/register; POST /v1/policy/check (SPEC P7).

The GETs are public: the notice and the record describe the processing, not a person, so no
credential is needed (the notice must be available to anyone before they become a customer).
``POST /v1/policy/check`` validates a policy text for the privacy officer's console (B1); it needs
the administrator credential because parsing arbitrary YAML costs CPU.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from carprivacy.bootstrap import PolicyDocuments
from carprivacy.config import Settings
from carprivacy.domain.errors import PayloadTooLargeError, UnsupportedMediaTypeError
from carprivacy.domain.policy import Policy
from carprivacy.entrypoints.api import deps
from carprivacy.entrypoints.api.deps import get_documents, get_settings, require_admin

YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")

router = APIRouter(prefix="/v1/policy", tags=["policy"])


def policy_as_dict(policy: Policy) -> dict[str, Any]:
    return dataclasses.asdict(policy)


@router.get("", summary="The policy (the notice, machine-readable)")
def get_policy(policy: Policy = Depends(deps.get_policy)) -> dict[str, Any]:
    return policy_as_dict(policy)


@router.get(
    "/notice",
    summary="The privacy notice, generated from the policy",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/markdown": {}, "text/html": {}}}},
)
def get_notice(
    lang: Literal["nl", "en"] = Query("nl", description="Language"),
    format: Literal["md", "html"] = Query("md", description="Format"),
    policy: Policy = Depends(deps.get_policy),
    documents: PolicyDocuments = Depends(get_documents),
) -> Response:
    text = documents.notice(policy, lang, format)
    if format == "html":
        return HTMLResponse(text)
    return PlainTextResponse(text, media_type="text/markdown; charset=utf-8")


@router.get(
    "/register",
    summary="The GDPR Art. 30(1) record of processing activities",
    responses={
        200: {
            "content": {
                "application/json": {},
                "text/csv": {},
                "text/markdown": {},
                "text/html": {},
            }
        }
    },
)
def get_register(
    format: Literal["json", "csv", "md", "html"] = Query("json", description="Format"),
    lang: Literal["nl", "en"] = Query("en", description="Language"),
    policy: Policy = Depends(deps.get_policy),
    documents: PolicyDocuments = Depends(get_documents),
) -> Response:
    if format == "json":
        return JSONResponse(
            {
                "policy": {"id": policy.id, "version": policy.version},
                "article": "Art. 30(1) GDPR",
                "rows": documents.register_rows(policy, lang),
            }
        )
    text = documents.register(policy, format, lang)
    if format == "html":
        return HTMLResponse(text)
    media = "text/csv; charset=utf-8" if format == "csv" else "text/markdown; charset=utf-8"
    headers = (
        {"Content-Disposition": 'attachment; filename="register.csv"'} if format == "csv" else {}
    )
    return PlainTextResponse(text, media_type=media, headers=headers)


@router.post(
    "/check",
    summary="Validate a policy YAML text: every problem with its YAML path and rule",
    responses={
        200: {"description": "the report: valid, and every problem (path, rule, message)"},
        413: {"description": "the text is larger than max_payload_bytes"},
        415: {"description": "not a YAML (or plain text) body"},
    },
)
async def check_policy(
    request: Request,
    _: str = Depends(require_admin),
    settings: Settings = Depends(get_settings),
    documents: PolicyDocuments = Depends(get_documents),
) -> JSONResponse:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in YAML_TYPES:
        raise UnsupportedMediaTypeError(f"send the policy as one of {', '.join(YAML_TYPES)}")
    limit = settings.max_payload_bytes
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise PayloadTooLargeError(f"policy larger than {limit} bytes", limit)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        problems = [{"path": "(document)", "rule": "file.encoding", "message": "not UTF-8"}]
        return JSONResponse({"valid": False, "problems": problems})
    policy, found = documents.check(text, "request body")
    return JSONResponse(
        {
            "valid": policy is not None,
            "problems": [{"path": p.path, "rule": p.rule, "message": p.message} for p in found],
        }
    )
