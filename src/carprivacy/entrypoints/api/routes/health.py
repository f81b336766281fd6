"""GET /health: liveness and database reachability (no personal data)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from sqlalchemy import text

from carprivacy import __version__
from carprivacy.bootstrap import Container
from carprivacy.entrypoints.api.deps import get_container

router = APIRouter(tags=["health"])


@router.get("/health")
def health(container: Container = Depends(get_container)) -> dict[str, Any]:
    try:
        with container.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        db = "ok"
    except Exception:  # noqa: BLE001 - report, never leak details
        db = "unavailable"
    return {
        "status": "ok" if db == "ok" else "degraded",
        "version": __version__,
        "database": db,
        "policy": {"id": container.policy.id, "version": container.policy.version},
    }
