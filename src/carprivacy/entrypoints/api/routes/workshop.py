"""``POST /v1/workshop/telemetry`` (source ``workshop``; notice section G; SPEC
C3, U1): OBFCM read-outs and service data uploaded by an authorised workshop.

- ``Authorization: Bearer <caller token>`` of a workshop caller (a dealer or partner of the
  ``workshops`` recipient); the purpose is named like every read (``?purpose=`` or
  ``X-Purpose``), e.g. ``obfcm_reporting``.
- Body as ``POST /v1/telemetry`` (JSON array or NDJSON, same limits and answers), but every
  record names its ``vin``: one upload can hold several cars.
- 403 (recorded, with the rule and article) when the caller may not collect these categories for
  the purpose at all. Per vehicle and category, a refusal by the engine (e.g. the customer
  refused OBFCM collection: ``consent.refused``) rejects those records with the rule and article,
  and they are kept nowhere; malformed records are quarantined as from any other transport.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from carprivacy.config import Settings
from carprivacy.domain.access import Caller
from carprivacy.entrypoints.api.auth import get_caller, get_purpose
from carprivacy.entrypoints.api.deps import get_settings, get_workshop
from carprivacy.entrypoints.api.routes.telemetry import (
    REQUEST_BODY,
    IngestAnswer,
    answer,
    read_records,
)
from carprivacy.services.ingestion.workshop import WorkshopCollector

router = APIRouter(prefix="/v1/workshop", tags=["telemetry"])


@router.post(
    "/telemetry",
    response_model=IngestAnswer,
    responses={
        400: {"description": "a JSON array that does not parse, or no purpose named"},
        401: {"description": "no or unknown caller token"},
        403: {"description": "the purpose does not allow this caller to collect these data"},
        413: {"description": "payload larger than max_payload_bytes (named)"},
        415: {"description": "not JSON or NDJSON, or a Content-Encoding other than identity"},
    },
    summary="Upload telemetry read at the workshop (OBFCM, service data) for a named purpose",
    openapi_extra={"requestBody": REQUEST_BODY},
)
async def post_workshop_telemetry(
    request: Request,
    caller: Caller = Depends(get_caller),
    purpose: str = Depends(get_purpose),
    settings: Settings = Depends(get_settings),
    workshop: WorkshopCollector = Depends(get_workshop),
) -> Any:
    records, malformed = await read_records(request, settings.max_payload_bytes)
    result = await run_in_threadpool(
        workshop.collect,
        caller,
        purpose,
        records,
        received_at=datetime.now(UTC),
        refused=malformed,
    )
    return answer(result)
