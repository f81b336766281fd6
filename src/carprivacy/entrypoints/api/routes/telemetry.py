"""``POST /v1/telemetry`` (SPEC I1, I3): batches from an authenticated vehicle.

- ``Authorization: Bearer <vehicle token>`` (``carprivacy vehicles credential VIN``); 401 otherwise.
- Body: a JSON array of records (``application/json``) or one record per line
  (``application/x-ndjson``); anything else 415. A ``Content-Encoding`` other than ``identity``
  (gzip, ...) is 415 naming the header, with ``Accept-Encoding: identity`` (RFC 7694): the limit
  then counts the bytes that are parsed, and no decompression runs on the request path. Larger
  than ``max_payload_bytes``: 413 naming the limit. A JSON array that does not parse (one
  document): 400 with line, column and position. A malformed NDJSON line is one refused record
  (``records[i]`` / ``json``, with its line and column) and the other lines are stored; its
  quarantine row keeps that reason.
- The answer lists every record's status; refused records name index, field and rule and are kept
  in quarantine, except a value the person's choice keeps from being collected (``consent.*``,
  e.g. an OBFCM refusal): that is kept nowhere. A 2xx answer means the accepted records AND the
  quarantined ones are committed.
- A record ``vin`` that is not a VIN is refused as ``records[i].vin`` / ``vin`` (the rule MQTT
  gives it too).
- Uploads are stored in ingestion turns (``services/ingestion/grouping.py``): the credential is
  looked up with the other uploads of the turn, and a refusal of the body (400, 415, 422) is
  answered only after it, so a caller without a live vehicle credential gets 401 whatever it
  sends. When the process already queues ``ingest_queue_records`` records, the upload is 503
  with ``Retry-After`` at once (``rule``: ``ingest_queue_full``), nothing stored.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, Field

from carprivacy.domain.errors import (
    AuthenticationError,
    CarPrivacyError,
    InvalidInputError,
    MalformedPayloadError,
    PayloadTooLargeError,
    Problem,
    UnsupportedMediaTypeError,
)
from carprivacy.entrypoints.api.deps import bearer, grouped_ingest_of, services_of
from carprivacy.entrypoints.api.request_body import parsed_json
from carprivacy.services.ingestion.pipeline import IngestResult
from carprivacy.services.ingestion.vehicle_credentials import check_form

router = APIRouter(prefix="/v1/telemetry", tags=["telemetry"])

JSON_TYPES = ("application/json",)
NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl")


class RecordError(BaseModel):
    field: str
    rule: str
    message: str


class Busy(BaseModel):
    """503: nothing was stored; send again after Retry-After."""

    detail: str
    rule: str | None = None


class RecordStatusOut(BaseModel):
    index: int
    status: Literal["accepted", "rejected", "duplicate"] = Field(
        description="accepted (stored now), rejected (see errors; quarantined, or kept nowhere "
        "when a consent.* rule refused it) or duplicate "
        "(already stored by an earlier delivery: nothing new)"
    )
    errors: list[RecordError] = Field(default_factory=list)


class IngestAnswer(BaseModel):
    accepted: int = Field(description="records stored by this request")
    rejected: int = Field(
        description="records refused (kept in quarantine with the reasons; consent.* refusals "
        "are kept nowhere)"
    )
    duplicates: int = Field(description="records already stored: nothing new, not accepted")
    errors: bool = Field(description="true when at least one record was refused")
    records: list[RecordStatusOut]


RECORD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["signal", "value", "ts"],
    "additionalProperties": False,
    "properties": {
        "signal": {
            "type": "string",
            "description": "COVESA VSS name from the signal catalogue",
            "examples": ["Vehicle.Speed"],
        },
        "value": {
            "description": "a number, boolean or string, as the signal's type and range say",
            "anyOf": [{"type": "number"}, {"type": "boolean"}, {"type": "string"}],
        },
        "ts": {
            "type": "string",
            "format": "date-time",
            "description": "ISO 8601 with a timezone; at most 5 minutes in the future",
        },
        "vin": {"type": "string", "description": "optional: must be the credential's vehicle"},
    },
}
EXAMPLE = [
    {"signal": "Vehicle.Speed", "value": 42.5, "ts": "2026-01-15T08:30:00Z"},
    {"signal": "Vehicle.TraveledDistance", "value": 12345.6, "ts": "2026-01-15T08:30:00Z"},
]
REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "description": "A batch of records: a JSON array, or NDJSON (one record object per line).",
    "content": {
        "application/json": {
            "schema": {"type": "array", "items": RECORD_SCHEMA},
            "example": EXAMPLE,
        },
        "application/x-ndjson": {
            "schema": {"type": "string", "description": "one record object per line"},
            "example": "".join(json.dumps(r) + "\n" for r in EXAMPLE),
        },
    },
}


async def read_records(request: Request, limit: int) -> tuple[list[Any], dict[int, list[Problem]]]:
    """The records of a telemetry upload and the ones refused on the wire (malformed NDJSON
    lines). When the body as a whole cannot be taken: UnsupportedMediaTypeError (415),
    PayloadTooLargeError (413), MalformedPayloadError (400) or InvalidInputError (422), which
    ``entrypoints/api/errors.py`` answers."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in JSON_TYPES + NDJSON_TYPES:
        raise UnsupportedMediaTypeError(
            "unsupported content type", accepted=JSON_TYPES + NDJSON_TYPES
        )
    encodings = request.headers.get("content-encoding", "").lower().split(",")
    if any(e.strip() not in ("", "identity") for e in encodings):
        raise UnsupportedMediaTypeError(
            "unsupported Content-Encoding: send the body uncompressed",
            header="Content-Encoding",
            accepted=["identity"],
        )
    body = await read_limited(request, limit)
    if media_type in JSON_TYPES:
        found, document = parsed_json(request.state, body)  # parsed by the request-body layer
        if found:
            return records_of(document), {}
    return parse_body(body, media_type)


def vehicle_token(creds: HTTPAuthorizationCredentials | None) -> str:
    """The bearer token of a request that may be a vehicle's (401 for none); whether it is a
    live credential is looked up with the other uploads of its ingestion turn."""
    if creds is None:
        raise AuthenticationError("a vehicle credential is required")
    check_form(creds.credentials)
    return creds.credentials


async def read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise _too_large(limit)
    return bytes(body)


def _too_large(limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(f"payload larger than the limit of {limit} bytes", limit)


def _malformed(exc: json.JSONDecodeError) -> MalformedPayloadError:
    return MalformedPayloadError(
        f"malformed JSON: {exc.msg}", line=exc.lineno, column=exc.colno, position=exc.pos
    )


def parse_ndjson(body: bytes) -> tuple[list[Any], dict[int, list[Problem]]]:
    """One record per non-blank line. A line that is not UTF-8 or not JSON is a record too,
    refused with ``records[i]`` / ``utf8`` or ``json`` and where it broke (the returned problems,
    by record index): the service quarantines it with that reason while the other lines are
    stored."""
    records: list[Any] = []
    malformed: dict[int, list[Problem]] = {}
    for number, raw in enumerate(body.split(b"\n"), start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            where = f"line {number} is not UTF-8 (byte {exc.start + 1} of the line)"
            malformed[len(records)] = [Problem(f"records[{len(records)}]", "encoding", where)]
            records.append(raw.decode("utf-8", errors="replace"))
            continue
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
            continue
        except json.JSONDecodeError as exc:
            where = f"malformed JSON at line {number} column {exc.colno}: {exc.msg}"
        except RecursionError:
            where = f"malformed JSON at line {number}: nested too deep"
        except ValueError:  # e.g. an integer of more than 4,300 digits
            where = f"malformed JSON at line {number}: a number too long to read"
        malformed[len(records)] = [Problem(f"records[{len(records)}]", "json", where)]
        records.append(line)  # kept as received: quarantined (sealed) with its reason
    return records, malformed


def parse_body(body: bytes, media_type: str) -> tuple[list[Any], dict[int, list[Problem]]]:
    """The records of a body, and the records the route refuses itself (malformed NDJSON lines)."""
    if media_type in NDJSON_TYPES:
        return parse_ndjson(body)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedPayloadError("body is not UTF-8", position=exc.start) from None
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _malformed(exc) from None
    except RecursionError:
        raise MalformedPayloadError("malformed JSON: nested too deep") from None
    except ValueError:  # e.g. an integer of more than 4,300 digits
        raise MalformedPayloadError("malformed JSON: a number too long to read") from None
    return records_of(parsed), {}


def records_of(document: Any) -> list[Any]:
    """The records of a JSON body's document (422 when it is not an array)."""
    if not isinstance(document, list):
        raise InvalidInputError([Problem("body", "type", "must be a JSON array of records")])
    return document


def answer(result: IngestResult) -> IngestAnswer:
    return IngestAnswer(
        accepted=result.accepted,
        rejected=result.rejected,
        duplicates=result.duplicates,
        errors=result.rejected > 0,
        records=[
            RecordStatusOut(
                index=s.index,
                status=s.status,
                errors=[
                    RecordError(field=e.path, rule=e.rule, message=e.message) for e in s.errors
                ],
            )
            for s in result.statuses
        ],
    )


def answer_json(result: IngestResult) -> Response:
    """:func:`answer` encoded directly (the same document, without building a model per
    record: the hot path of ingestion)."""
    return Response(answer_bytes(result), media_type="application/json")


_ACCEPTED: list[bytes] = []  # the encoded status of an accepted record, by index


def answer_bytes(result: IngestResult) -> bytes:
    """The answer's JSON (compact). When every record was accepted (the common case) the
    statuses are joined from encoded ones, byte for byte what the general encoding gives."""
    n = len(result.statuses)
    if result.accepted == n and all(s.index == i for i, s in enumerate(result.statuses)):
        while len(_ACCEPTED) < n:
            i = len(_ACCEPTED)
            _ACCEPTED.append(b'{"index":%d,"status":"accepted","errors":[]}' % i)
        return b'{"accepted":%d,"rejected":0,"duplicates":0,"errors":false,"records":[%s]}' % (
            n,
            b",".join(_ACCEPTED[:n]),
        )
    document = {
        "accepted": result.accepted,
        "rejected": result.rejected,
        "duplicates": result.duplicates,
        "errors": result.rejected > 0,
        "records": [
            {
                "index": s.index,
                "status": s.status,
                "errors": [
                    {"field": e.path, "rule": e.rule, "message": e.message} for e in s.errors
                ],
            }
            for s in result.statuses
        ],
    }
    return json.dumps(document, separators=(",", ":")).encode()


@router.post(
    "",
    response_model=IngestAnswer,
    responses={
        400: {"description": "a JSON array that does not parse (line, column, position)"},
        401: {"description": "no or unknown vehicle credential"},
        413: {"description": "payload larger than max_payload_bytes (named)"},
        415: {
            "description": "not application/json or application/x-ndjson, or a "
            "Content-Encoding other than identity"
        },
        503: {
            "model": Busy,
            "description": "this server process already queues as many records as it may "
            "(ingest_queue_records): nothing was stored; retry after the seconds of Retry-After. "
            "Also when the store is unavailable.",
            "headers": {
                "Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}
            },
        },
    },
    summary="Ingest a batch of telemetry records from one vehicle",
    openapi_extra={"requestBody": REQUEST_BODY},
)
async def post_telemetry(
    request: Request, creds: HTTPAuthorizationCredentials | None = Depends(bearer)
) -> Any:
    # the hot path: the settings and the turns are taken from the app, not as dependencies
    # (FastAPI resolves each dependency on every request, a measurable share of an upload)
    settings = services_of(request).settings
    ingest = grouped_ingest_of(request)
    token = vehicle_token(creds)
    received_at = datetime.now(UTC)
    records: list[Any] = []
    malformed: dict[int, list[Problem]] = {}
    refusal: CarPrivacyError | None = None
    try:
        records, malformed = await read_records(request, settings.max_payload_bytes)
    except CarPrivacyError as exc:  # answered once the credential is known to be good (401 first)
        refusal = exc
    result = await ingest.ingest(
        records, token=token, received_at=received_at, refused=malformed, refusal=refusal
    )
    return answer_json(result)
