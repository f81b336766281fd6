"""The request-body layer (SPEC I1, I4): every request body passes here before any route reads it.

- **Size**: a body larger than the request's limit is 413 naming the limit. A declared
  ``Content-Length`` over it is refused before a byte is read; a chunked body is counted as it
  streams and refused as soon as it passes the limit. The limit is ``max_public_body_bytes`` on the
  login routes and on every request without credentials, else the larger of ``max_body_bytes`` and
  ``max_payload_bytes`` (telemetry and the policy check apply ``max_payload_bytes`` themselves).
- **URL**: a NUL in the path or the query string is 422 (``control_character``).
- **JSON** (``application/json`` and ``+json``): a body that is not UTF-8 is 400 with where it
  broke (line, column, position); a body that does not parse is 400 the same way; a key given twice
  in one object is 422 naming the key (rule ``duplicate_key``) instead of silently taking the last.

The answers are those of ``entrypoints/api/errors.py``. A body that passes is handed on unchanged;
its parsed document is kept in the request state (:func:`parsed_json`) for the route that reads
the body as JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from carprivacy.domain.errors import (
    InvalidInputError,
    MalformedPayloadError,
    PayloadTooLargeError,
    Problem,
)
from carprivacy.entrypoints.api.errors import answer_for

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PUBLIC_PATHS = ("/v1/auth/", "/v1/oauth/", "/gcdm/oauth/")
PARSED = "carprivacy_json_body"  # request state: (body, document) of a body checked here
KEY_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


@dataclass(frozen=True)
class BodyLimits:
    public: int  # login routes and requests without credentials
    authenticated: int

    def of(self, path: str, headers: Mapping[str, str]) -> int:
        if path.startswith(PUBLIC_PATHS) or "authorization" not in headers:
            return self.public
        return self.authenticated


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    made = dict(pairs)
    if len(made) == len(pairs):  # the common case, checked at the speed of dict()
        return made
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            field = key if KEY_NAME.match(key) else "*"  # the name, when it is a plain one
            message = "a key may be given once in an object: this one is given twice"
            raise InvalidInputError([Problem(field, "duplicate_key", message)])
        seen.add(key)
    raise AssertionError("unreachable: fewer keys than pairs means a repeated key")


def _is_json(headers: Mapping[str, str]) -> bool:
    """A JSON body as sent (a compressed one is the route's to refuse with 415)."""
    if any(
        e.strip() not in ("", "identity") for e in headers.get("content-encoding", "").split(",")
    ):
        return False
    media = headers.get("content-type", "").split(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _too_large(limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(f"body larger than the limit of {limit} bytes", limit)


def check_json(body: bytes) -> Any:
    """The document of a JSON body; raises its refusal: not UTF-8, not JSON, or a key given
    twice."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = body[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise MalformedPayloadError(
            f"body is not UTF-8 (byte {exc.start + 1})",
            line=line,
            column=column,
            position=exc.start,
        ) from None
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except InvalidInputError:
        raise  # a key given twice
    except json.JSONDecodeError as exc:
        raise MalformedPayloadError(
            f"malformed JSON: {exc.msg}", line=exc.lineno, column=exc.colno, position=exc.pos
        ) from None
    except RecursionError:
        raise MalformedPayloadError(
            "malformed JSON: nested too deep", line=1, column=1, position=0
        ) from None
    except ValueError:  # e.g. an integer of more than 4,300 digits
        raise MalformedPayloadError(
            "malformed JSON: a number too long to read", line=1, column=1, position=0
        ) from None


def parsed_json(state: Any, body: bytes) -> tuple[bool, Any]:
    """(True, document) when this layer parsed exactly ``body`` for this request (``state``:
    ``request.state``); (False, None) otherwise."""
    kept = getattr(state, PARSED, None)
    if kept is not None and kept[0] == body:
        return True, kept[1]
    return False, None


WANTED = (b"authorization", b"content-encoding", b"content-length", b"content-type")


def _wanted_headers(scope: Scope) -> dict[str, str]:
    """The headers this layer reads (the first of each, as ``Headers.get`` gives it), in one
    pass over the raw headers: this runs on every request."""
    found: dict[str, str] = {}
    for name, value in scope.get("headers", ()):
        name = name.lower()
        if name in WANTED:
            found.setdefault(name.decode("latin-1"), value.decode("latin-1"))
    return found


def _nul_in(scope: Scope) -> str | None:
    """``path`` or ``query`` when the URL holds a NUL, which no store keeps in a text."""
    if "\x00" in scope.get("path", ""):
        return "path"
    if b"%00" in scope.get("query_string", b"").lower() or b"\x00" in scope.get(
        "query_string", b""
    ):
        return "query"
    return None


class RequestBodyLayer:
    """ASGI middleware: the checks of the module docstring, on every HTTP request."""

    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _wanted_headers(scope)
        nul = _nul_in(scope)
        if nul is not None:
            problem = Problem(nul, "control_character", "must not hold NUL (%00)")
            await answer_for(InvalidInputError([problem]))(scope, receive, send)
            return
        limit = self.limits.of(scope.get("path", ""), headers)
        declared = headers.get("content-length")
        try:
            if declared is not None and declared.strip().isdigit() and int(declared) > limit:
                raise _too_large(limit)
            body, more = await self._read(receive, limit)
            if body and _is_json(headers):
                # handed on, so that a route reading the body as JSON need not parse it again
                scope.setdefault("state", {})[PARSED] = (body, check_json(body))
        except InvalidInputError as exc:
            await answer_for(exc)(scope, receive, send)
            return
        await self.app(scope, _replay(body, more, receive), send)

    @staticmethod
    async def _read(receive: Receive, limit: int) -> tuple[bytes, Message | None]:
        """The whole body (at most ``limit`` bytes), and a non-body message met on the way."""
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return bytes(body), message  # a disconnect: handed on to the app
            body.extend(message.get("body", b""))
            if len(body) > limit:
                raise _too_large(limit)
            if not message.get("more_body", False):
                return bytes(body), None


def _replay(body: bytes, more: Message | None, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            if more is not None and not body:
                return more
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
