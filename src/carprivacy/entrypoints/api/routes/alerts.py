"""Unusual access flagged by monitoring (SPEC U3): ``GET /v1/alerts`` lists and filters the
alerts, ``POST /v1/alerts/{alert_id}/ack`` records that the privacy officer looked at one and what
they found (appended: earlier acknowledgements stay)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Query

from carprivacy.domain.access import Caller, Role
from carprivacy.domain.monitoring import AlertRule
from carprivacy.entrypoints.api.auth import require_role
from carprivacy.entrypoints.api.deps import get_monitoring
from carprivacy.entrypoints.api.schemas import query
from carprivacy.entrypoints.api.schemas.access import AcknowledgementIn, AlertOut
from carprivacy.services.audit.monitoring import AlertQuery, MonitoringService

router = APIRouter(prefix="/v1/alerts", tags=["monitoring"])


@router.get("", response_model=list[AlertOut])
def list_alerts(
    rule: AlertRule | None = Query(None, description="Only alerts of this rule."),
    caller_id: str | None = Query(None, max_length=64, description="Only this caller's."),
    since: datetime | None = Query(None, description="Only alerts raised at or after this time."),
    until: datetime | None = Query(None, description="Only alerts raised before this time."),
    acknowledged: bool | None = Query(
        None, description="true: only acknowledged alerts; false: only those not acknowledged."
    ),
    limit: int = query.limit(100, 1000),
    _: Caller = Depends(require_role(Role.PRIVACY_OFFICER, Role.ADMINISTRATOR)),
    monitoring: MonitoringService = Depends(get_monitoring),
) -> list[AlertOut]:
    window = AlertQuery(rule, caller_id, _utc(since), _utc(until), acknowledged, limit)
    return [AlertOut.of(a) for a in monitoring.alerts(window)]


@router.post("/{alert_id}/ack", response_model=AlertOut)
def acknowledge_alert(
    alert_id: str,
    body: AcknowledgementIn,
    caller: Caller = Depends(require_role(Role.PRIVACY_OFFICER)),
    monitoring: MonitoringService = Depends(get_monitoring),
) -> AlertOut:
    """Acknowledge an alert with a note (who and when are recorded); the alert with every
    acknowledgement it has."""
    return AlertOut.of(monitoring.acknowledge(alert_id, caller, body.note))


def _utc(at: datetime | None) -> datetime | None:
    """A time without a zone is UTC."""
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at
