"""Stored telemetry read back through the gate (SPEC U1-U3, R1).

- ``GET /v1/vehicles/{vehicle_id}/telemetry`` and ``GET /v1/customers/{customer_id}/telemetry``:
  a period (``from``, ``to``: ISO 8601 with an offset, half-open), signals (``signals``: VSS
  names, comma-separated; none: every signal of the categories the purpose uses), the purpose
  (``purpose`` or ``X-Purpose``).
- ``format=json`` (default): a page of at most ``limit`` values and ``next_cursor`` (opaque; pass
  it as ``cursor`` for the next page; null at the end). ``format=ndjson`` or ``csv``: every value
  of the period after ``cursor``, streamed (read and released in chunks: flat memory).
- Each value is in the form the gate decides for this caller and purpose (identified,
  vehicle-linked, pseudonymised and coarsened); the route holds no privacy logic.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime
from enum import StrEnum
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from carprivacy.bootstrap import Services
from carprivacy.entrypoints.api.deps import get_services
from carprivacy.entrypoints.api.release import encoded, get_reading, respond
from carprivacy.services.access.gate import Reading
from carprivacy.services.access.telemetry import COLUMNS, MAX_LIMIT, TelemetryQuery, TelemetryReads

router = APIRouter(tags=["telemetry"])


class Format(StrEnum):
    JSON = "json"
    NDJSON = "ndjson"
    CSV = "csv"


async def get_telemetry_reads(services: Services = Depends(get_services)) -> TelemetryReads:
    return services.telemetry_reads


FROM = Query(None, alias="from", description="start of the period (ISO 8601 with an offset)")
TO = Query(None, alias="to", description="end of the period, exclusive (ISO 8601 with an offset)")
SIGNALS = Query(None, description="VSS names, comma-separated; none: every signal")
CURSOR = Query(None, description="next_cursor of the previous page, as given")
LIMIT = Query(100, ge=1, le=MAX_LIMIT, description=f"values per page (1-{MAX_LIMIT}; json only)")
FORMAT = Query(Format.JSON, description="json (a page), ndjson or csv (the period, streamed)")
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "a page (json) or every value of the period (ndjson, csv)",
        "content": {"application/x-ndjson": {}, "text/csv": {}},
    },
    403: {"description": "the purpose does not allow this read (the reasons named)"},
    422: {"description": "a bad period, signal, cursor, limit or purpose (the field named)"},
}


def signal_list(raw: str | None) -> tuple[str, ...]:
    if not raw:
        return ()
    return tuple(dict.fromkeys(s.strip() for s in raw.split(",") if s.strip()))


async def _answer(
    reads: TelemetryReads,
    reading: Reading,
    query: TelemetryQuery,
    cursor: str | None,
    limit: int,
    fmt: Format,
) -> Any:
    if fmt is Format.JSON:
        page = await run_in_threadpool(reads.page, reading, query, cursor, limit)
        return respond({"items": page.items, "next_cursor": page.next_cursor, "limit": limit})
    values = await run_in_threadpool(reads.stream, reading, query, cursor)  # refusals first
    return streamed(values, fmt)


def streamed(values: Iterator[dict[str, object]], fmt: Format) -> StreamingResponse:
    """Released values as an NDJSON or CSV stream (written a batch at a time)."""
    if fmt is Format.NDJSON:
        return StreamingResponse(_ndjson(values), media_type="application/x-ndjson")
    return StreamingResponse(
        _csv(values),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="telemetry.csv"'},
    )


def _ndjson(values: Iterator[dict[str, object]], batch: int = 500) -> Iterator[str]:
    lines: list[str] = []
    for item in values:
        lines.append(encoded(item).decode())
        if len(lines) >= batch:
            yield "\n".join(lines) + "\n"
            lines = []
    if lines:
        yield "\n".join(lines) + "\n"


def _csv(values: Iterator[dict[str, object]], batch: int = 500) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for count, item in enumerate(values, start=1):
        writer.writerow([_cell(item.get(c)) for c in COLUMNS])
        if count % batch == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        return value
    return json.dumps(value)


@router.get(
    "/v1/vehicles/{vehicle_id}/telemetry",
    summary="A vehicle's stored telemetry over a period, through the gate",
    responses=RESPONSES,
)
async def vehicle_telemetry(
    vehicle_id: str,
    start: datetime | None = FROM,
    end: datetime | None = TO,
    signals: str | None = SIGNALS,
    cursor: str | None = CURSOR,
    limit: int = LIMIT,
    format: Format = FORMAT,
    reading: Reading = Depends(get_reading),
    reads: TelemetryReads = Depends(get_telemetry_reads),
) -> Any:
    query = TelemetryQuery(
        vehicle_id=vehicle_id, start=start, end=end, signals=signal_list(signals)
    )
    return await _answer(reads, reading, query, cursor, limit, format)


@router.get(
    "/v1/customers/{customer_id}/telemetry",
    summary="A data subject's stored telemetry over a period, through the gate",
    responses=RESPONSES,
)
async def customer_telemetry(
    customer_id: str,
    start: datetime | None = FROM,
    end: datetime | None = TO,
    signals: str | None = SIGNALS,
    cursor: str | None = CURSOR,
    limit: int = LIMIT,
    format: Format = FORMAT,
    reading: Reading = Depends(get_reading),
    reads: TelemetryReads = Depends(get_telemetry_reads),
) -> Any:
    query = TelemetryQuery(
        subject_id=customer_id, start=start, end=end, signals=signal_list(signals)
    )
    return await _answer(reads, reading, query, cursor, limit, format)
