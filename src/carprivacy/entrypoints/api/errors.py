"""The one place that maps domain errors to HTTP answers.

``HTTP_STATUS`` lists the answer of every :class:`CarPrivacyError` an HTTP request can meet;
``INTERNAL`` the ones that never reach a route (a test keeps both lists complete). Starlette picks
the handler of the most specific class, so a subclass of ``InvalidInputError`` with its own
status gets its own answer.
"""

from __future__ import annotations

import inspect
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.responses import Response

from carprivacy.bootstrap import store_unavailable_errors
from carprivacy.domain.errors import (
    AccessDeniedError,
    AuditChainConflictError,
    AuthenticationError,
    BackupError,
    CarPrivacyError,
    CiphertextError,
    ConflictError,
    CryptoError,
    IngestBusyError,
    InvalidInputError,
    KeyDestroyedError,
    MailDeliveryError,
    MalformedPayloadError,
    MasterKeyRetiredError,
    MasterKeyRotationError,
    NotFoundError,
    OAuthGrantError,
    PasswordHashingError,
    PayloadTooLargeError,
    PolicyError,
    RateLimitedError,
    RetentionRunInProgressError,
    RotationError,
    StoreUnavailableError,
    StreamBrokerError,
    UnknownMasterKeyError,
    UnsupportedMediaTypeError,
)
from carprivacy.entrypoints.api.input_formats import format_of

# the answer each error gets (subclasses not listed answer as their nearest listed base)
HTTP_STATUS: dict[type[CarPrivacyError], int] = {
    InvalidInputError: 422,
    PolicyError: 422,
    MalformedPayloadError: 400,
    PayloadTooLargeError: 413,
    UnsupportedMediaTypeError: 415,
    NotFoundError: 404,
    ConflictError: 409,
    AuthenticationError: 401,
    AccessDeniedError: 403,
    RateLimitedError: 429,
    OAuthGrantError: 400,  # invalid_client: 401
    KeyDestroyedError: 410,
    StoreUnavailableError: 503,
    IngestBusyError: 503,
}
# errors that never reach a route: the CLI, the MQTT worker or the services themselves handle
# them (an answer for them would be a 500, which is what an unexpected one is)
INTERNAL: frozenset[type[CarPrivacyError]] = frozenset(
    {
        AuditChainConflictError,  # the audit service re-reads the head and retries
        BackupError,  # carprivacy backup / restore only
        CryptoError,  # key material: the CLI (keys rotate) and start-up report it
        CiphertextError,
        UnknownMasterKeyError,
        MasterKeyRetiredError,
        RotationError,
        MasterKeyRotationError,
        PasswordHashingError,
        MailDeliveryError,  # the login-code service answers as it would for any address
        RetentionRunInProgressError,  # the retention CLI reports it; no route runs retention
        StreamBrokerError,  # the stream logs it; the token endpoint answers in any case
    }
)


def _problems(problems: list[object]) -> list[dict[str, str]]:
    return [
        {"field": p.path, "rule": p.rule, "message": p.message}  # type: ignore[attr-defined]
        for p in problems
    ]


class FieldError(BaseModel):
    field: str
    rule: str
    message: str


class InvalidInput(BaseModel):
    """422: every bad field, each with the rule it broke."""

    detail: str
    errors: list[FieldError]


class MalformedJson(BaseModel):
    """400: where the JSON broke (line and column from 1, position: characters from 0)."""

    detail: str
    line: int
    column: int
    position: int


class TooLarge(BaseModel):
    """413: the body is larger than the limit of this route (``limit_bytes``)."""

    detail: str
    limit_bytes: int


class ErrorAnswer(BaseModel):
    """401, 404, 409, 410: what went wrong, naming fields and ids, never values."""

    detail: str


class Refused(BaseModel):
    """403: the policy engine refused; each reason names the rule and the article."""

    detail: str
    reasons: list[str]


# the answers every operation of a kind can give, documented where they can happen (SPEC I4)
_SECURED = {
    "401": ("no or bad credentials, or an expired token", "ErrorAnswer"),
    "403": ("the policy engine refused: the reasons name rule and article", "Refused"),
}
_NAMED = {"404": ("the id is unknown (or not readable by this caller)", "ErrorAnswer")}
_WRITE = {"409": ("the operation contradicts stored state", "ErrorAnswer")}
WRITES = frozenset({"post", "put", "patch", "delete"})


def _document_errors(app: FastAPI) -> None:
    """The OpenAPI document describes the answers these handlers give: the 422 schema FastAPI
    declares for every route is replaced by :class:`InvalidInput`, and every operation with a
    JSON body declares the 400 of :class:`MalformedJson`; every operation with a body the 413 of
    :class:`TooLarge`; every authenticated one the 401 and 403, every one naming an id in its
    path the 404, every authenticated write the 409."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        spec = generate()  # FastAPI caches it: the changes below are made once
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        if "MalformedJson" in schemas:
            return spec
        template = "#/components/schemas/{model}"
        for model in (InvalidInput, MalformedJson, TooLarge, ErrorAnswer, Refused):
            schema = model.model_json_schema(ref_template=template)
            schemas.update(schema.pop("$defs", {}))
            schemas[model.__name__] = schema
        schemas["HTTPValidationError"] = {"$ref": "#/components/schemas/InvalidInput"}
        malformed = {"schema": {"$ref": "#/components/schemas/MalformedJson"}}
        too_large = {"schema": {"$ref": "#/components/schemas/TooLarge"}}
        schemas["CustomerErrorResponse"] = CARDATA_ERROR_SCHEMA
        for path, item in spec.get("paths", {}).items():
            for method, operation in item.items():
                if not isinstance(operation, dict):
                    continue
                if path.startswith(CARDATA_PREFIX):
                    _document_cardata(operation, method, "{" in path)
                    continue
                kinds: dict[str, tuple[str, str]] = {}
                secured = bool(operation.get("security"))
                if secured:
                    kinds.update(_SECURED)
                if "{" in path:
                    kinds.update(_NAMED)
                if secured and method in WRITES:
                    kinds.update(_WRITE)
                responses = operation.setdefault("responses", {})
                for status, (description, model_name) in kinds.items():
                    responses.setdefault(status, {"description": description}).setdefault(
                        "content",
                        {
                            "application/json": {
                                "schema": {"$ref": template.format(model=model_name)}
                            }
                        },
                    )
                body = operation.get("requestBody", {}).get("content", {})
                if body:
                    answer = operation.setdefault("responses", {}).setdefault(
                        "413", {"description": "the body is larger than this route's limit"}
                    )
                    answer.setdefault("content", {})["application/json"] = too_large
                if "application/json" in body:
                    answer = operation.setdefault("responses", {}).setdefault(
                        "400", {"description": "malformed JSON (line, column, position)"}
                    )
                    answer.setdefault("content", {})["application/json"] = malformed
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


# The CarData customer API answers its errors in the published body, with 400 for what other
# routes answer 422 (the published API's "Bad request"); exveErrorId is CU-<status>.
CARDATA_PREFIX = "/customers/"
CARDATA_ERROR_SCHEMA: dict[str, Any] = {
    "title": "CustomerErrorResponse",
    "type": "object",
    "description": "The CarData customer API's error body: exveErrorId (CU-<status>), "
    "exveErrorMsg, exveErrorRef (this answer's reference), exveNote (fields and rules, or "
    "the refusal's rules and articles).",
    "properties": {
        "exveErrorId": {"type": "string"},
        "exveErrorMsg": {"type": "string"},
        "exveErrorRef": {"type": "string"},
        "exveNote": {"type": "string"},
    },
    "required": ["exveErrorId", "exveErrorMsg", "exveErrorRef"],
}
_CARDATA_ANSWERS = {
    "400": "bad request: a missing or wrong x-version, a bad parameter or body (exveNote names "
    "field and rule)",
    "401": "no, a bad or an expired CarData access token",
    "403": "refused: the token lacks cardata:api:read, or the gate refused (rule and article)",
    "429": "more calls than the quota's window allows: Retry-After says when to retry",
}


def _document_cardata(operation: dict[str, Any], method: str, named: bool) -> None:
    """The answers of a CarData operation, each in the published error body."""
    body = {"application/json": {"schema": {"$ref": "#/components/schemas/CustomerErrorResponse"}}}
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "header" and parameter.get("name") == "x-version":
            parameter["required"] = True  # as published (checked after the token)
            parameter["schema"] = {"type": "string", "default": "v1", "maxLength": 16}
    responses = operation.setdefault("responses", {})
    responses.pop("422", None)
    answers = dict(_CARDATA_ANSWERS)
    if named:
        answers["404"] = "unknown, or not this account's (a VIN not mapped, a container)"
    if method in WRITES:
        answers["409"] = "the operation contradicts stored state (too many containers)"
    if operation.get("requestBody"):
        answers["413"] = "the body is larger than this route's limit"
    for status, description in answers.items():
        responses[status] = {"description": description, "content": body}


def cardata_error(status: int, message: str, note: str | None = None) -> JSONResponse:
    """An error in the CarData customer API's published body."""
    content: dict[str, Any] = {
        "exveErrorId": f"CU-{status}",
        "exveErrorMsg": message,
        "exveErrorRef": uuid.uuid4().hex,
    }
    if note:
        content["exveNote"] = note[:2000]
    return JSONResponse(status_code=status, content=content)


def _reshaped(response: Response) -> Response:
    """An answer of the handlers below, in the CarData body (422 answered as 400)."""
    if not isinstance(response, JSONResponse):
        return response
    content = json.loads(bytes(response.body) or b"{}")
    status = 400 if response.status_code == 422 else response.status_code
    note = None
    if isinstance(content.get("errors"), list):
        note = "; ".join(f"{e['field']}: {e['rule']}: {e['message']}" for e in content["errors"])
    elif isinstance(content.get("reasons"), list):
        note = "; ".join(str(r) for r in content["reasons"])
    elif "limit_bytes" in content:
        note = f"limit_bytes: {content['limit_bytes']}"
    answer = cardata_error(status, str(content.get("detail", "the request failed")), note)
    for name in ("WWW-Authenticate", "Retry-After", "X-RateLimit-Remaining"):
        if name in response.headers:
            answer.headers[name] = response.headers[name]
    return answer


Handler = Callable[[Request, Any], Response | Awaitable[Response]]


def _cardata_shaped(handler: Handler) -> Handler:
    async def shaped(request: Request, exc: Any) -> Response:
        given = handler(request, exc)
        answer = await given if inspect.isawaitable(given) else given
        if request.url.path.startswith(CARDATA_PREFIX):
            return _reshaped(answer)
        return answer

    return shaped


def _field_error(e: Any) -> dict[str, str]:
    """One 422 entry: the field, a rule name and a message; never the submitted value, never a
    raw regular expression."""
    loc = [str(x) for x in e.get("loc", ()) if x != "body"]
    rule, message = str(e.get("type", "invalid")), str(e.get("msg", ""))
    if rule == "extra_forbidden" and loc:
        # the sender's own field name can itself be personal data: name where, not what
        loc[-1] = "*"
        message = "unexpected field: the schema of this request lists the fields it takes"
    field = ".".join(loc) or "body"
    if rule == "string_pattern_mismatch":
        named = format_of((e.get("ctx") or {}).get("pattern"))
        rule, message = named.rule, named.message
    return {"field": field, "rule": rule, "message": message}


async def _malformed_json(request: Request, error: Any, document: object) -> JSONResponse:
    """400 with line, column and position, as POST /v1/telemetry answers malformed JSON.
    ``document``: the text the JSON parser saw (FastAPI passes it along); position counts its
    characters."""
    loc = error.get("loc", ())
    position = loc[-1] if loc and isinstance(loc[-1], int) else 0
    if isinstance(document, str):
        text = document
    else:
        text = (await request.body()).decode("utf-8", errors="replace")
    line = text.count("\n", 0, position) + 1
    column = position - text.rfind("\n", 0, position)
    reason = str((error.get("ctx") or {}).get("error", "JSON decode error"))
    return JSONResponse(
        status_code=400,
        content={
            "detail": f"malformed JSON: {reason}",
            "line": line,
            "column": column,
            "position": position,
        },
    )


def invalid_answer(exc: InvalidInputError) -> JSONResponse:
    """422: every bad field with the rule it broke."""
    return JSONResponse(
        status_code=422,
        content={"detail": "invalid input", "errors": _problems(list(exc.problems))},
    )


def malformed_answer(exc: MalformedPayloadError) -> JSONResponse:
    """400: where the body broke (:class:`MalformedJson`)."""
    where = {"line": exc.line, "column": exc.column, "position": exc.position}
    content: dict[str, Any] = {"detail": exc.detail}
    content.update({k: v for k, v in where.items() if v is not None})
    return JSONResponse(status_code=400, content=content)


def too_large_answer(exc: PayloadTooLargeError) -> JSONResponse:
    """413: the body is larger than the limit named (:class:`TooLarge`)."""
    return JSONResponse(
        status_code=413, content={"detail": exc.detail, "limit_bytes": exc.limit_bytes}
    )


def answer_for(exc: InvalidInputError) -> JSONResponse:
    """The answer to a refused body, for the request-body layer (which runs before the app's
    handlers): the same answers the handlers below give."""
    if isinstance(exc, PayloadTooLargeError):
        return too_large_answer(exc)
    if isinstance(exc, MalformedPayloadError):
        return malformed_answer(exc)
    return invalid_answer(exc)


def register_error_handlers(app: FastAPI) -> None:
    _document_errors(app)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        found = list(exc.errors())
        broken = next((e for e in found if e.get("type") == "json_invalid"), None)
        if broken is not None:
            return await _malformed_json(request, broken, exc.body)
        return JSONResponse(
            status_code=422,
            content={"detail": "invalid input", "errors": [_field_error(e) for e in found]},
        )

    @app.exception_handler(InvalidInputError)
    async def _invalid(_: Request, exc: InvalidInputError) -> JSONResponse:
        return invalid_answer(exc)

    @app.exception_handler(MalformedPayloadError)
    async def _malformed(_: Request, exc: MalformedPayloadError) -> JSONResponse:
        return malformed_answer(exc)

    @app.exception_handler(PayloadTooLargeError)
    async def _too_large(_: Request, exc: PayloadTooLargeError) -> JSONResponse:
        return too_large_answer(exc)

    @app.exception_handler(UnsupportedMediaTypeError)
    async def _media_type(_: Request, exc: UnsupportedMediaTypeError) -> JSONResponse:
        content: dict[str, Any] = {"detail": exc.detail}
        headers: dict[str, str] | None = None
        if exc.header is not None:
            content["header"] = exc.header
        if exc.accepted is not None:
            content["accepted"] = list(exc.accepted)
        if exc.header == "Content-Encoding" and exc.accepted:
            headers = {"Accept-Encoding": ", ".join(exc.accepted)}  # RFC 7694
        return JSONResponse(status_code=415, content=content, headers=headers)

    async def _store_down(_: Request, exc: Exception) -> JSONResponse:
        # nothing was committed: the sender may retry (acknowledged = durable)
        return JSONResponse(
            status_code=503,
            content={"detail": "the store is unavailable: nothing was stored, retry later"},
            headers={"Retry-After": "5"},
        )

    # the database down or restarting, as the store's own errors: 503, never a 500
    unavailable: tuple[type[Exception], ...] = (StoreUnavailableError, *store_unavailable_errors())
    for kind in unavailable:
        app.add_exception_handler(kind, _store_down)

    @app.exception_handler(IngestBusyError)
    async def _busy(_: Request, exc: IngestBusyError) -> JSONResponse:
        # refused before any work: nothing was stored; an error for the sender, never a success
        return JSONResponse(
            status_code=503,
            content={
                "detail": "the server is busy: nothing was stored, retry after the seconds "
                "of Retry-After",
                "rule": "ingest_queue_full",
            },
            headers={"Retry-After": str(exc.retry_after)},
        )

    @app.exception_handler(PolicyError)
    async def _policy(_: Request, exc: PolicyError) -> JSONResponse:
        return JSONResponse(
            status_code=422,
            content={"detail": "invalid policy", "errors": _problems(list(exc.problems))},
        )

    @app.exception_handler(NotFoundError)
    async def _not_found(_: Request, exc: NotFoundError) -> JSONResponse:
        return JSONResponse(status_code=404, content={"detail": f"{exc.kind} not found"})

    @app.exception_handler(ConflictError)
    async def _conflict(_: Request, exc: ConflictError) -> JSONResponse:
        return JSONResponse(status_code=409, content={"detail": str(exc)})

    @app.exception_handler(KeyDestroyedError)
    async def _erased(_: Request, exc: KeyDestroyedError) -> JSONResponse:
        # crypto-shredded (Art. 17): the data is gone for good, which is not a server fault
        return JSONResponse(
            status_code=410, content={"detail": "the data subject's data was erased"}
        )

    @app.exception_handler(AuthenticationError)
    async def _auth(_: Request, exc: AuthenticationError) -> JSONResponse:
        return JSONResponse(
            status_code=401,
            content={"detail": str(exc)},
            headers={"WWW-Authenticate": "Bearer"},
        )

    @app.exception_handler(AccessDeniedError)
    async def _denied(_: Request, exc: AccessDeniedError) -> JSONResponse:
        return JSONResponse(
            status_code=403, content={"detail": str(exc), "reasons": list(exc.reasons)}
        )

    @app.exception_handler(RateLimitedError)
    async def _limited(_: Request, exc: RateLimitedError) -> JSONResponse:
        return JSONResponse(
            status_code=429,
            content={"detail": str(exc)},
            headers={"Retry-After": str(exc.retry_after), "X-RateLimit-Remaining": "0"},
        )

    @app.exception_handler(OAuthGrantError)
    async def _oauth(_: Request, exc: OAuthGrantError) -> JSONResponse:
        # RFC 6749 section 5.2: 401 (with a challenge) for a failed client, 400 otherwise
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        code = 401 if exc.error == "invalid_client" else 400
        if code == 401:
            headers["WWW-Authenticate"] = 'Basic realm="carprivacy"'
        return JSONResponse(
            status_code=code,
            content={"error": exc.error, "error_description": exc.description},
            headers=headers,
        )

    # the CarData customer API answers every error above in its published body
    for exc_class, handler in list(app.exception_handlers.items()):
        app.exception_handlers[exc_class] = _cardata_shaped(handler)
