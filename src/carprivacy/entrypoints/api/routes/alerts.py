"""GET /v1/alerts: unusual access flagged by monitoring (SPEC U3)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query

from carprivacy.domain.access import Caller, Role
from carprivacy.entrypoints.api.auth import require_role
from carprivacy.entrypoints.api.deps import get_monitoring
from carprivacy.entrypoints.api.schemas import query
from carprivacy.entrypoints.api.schemas.access import AlertOut
from carprivacy.services.audit.monitoring import MonitoringService

router = APIRouter(prefix="/v1/alerts", tags=["monitoring"])


@router.get("", response_model=list[AlertOut])
def list_alerts(
    since: datetime | None = Query(None, description="Only alerts raised at or after this time."),
    limit: int = query.limit(100, 1000),
    _: Caller = Depends(require_role(Role.PRIVACY_OFFICER, Role.ADMINISTRATOR)),
    monitoring: MonitoringService = Depends(get_monitoring),
) -> list[AlertOut]:
    return [AlertOut.of(a) for a in monitoring.alerts(since, limit)]
