"""GET /health: liveness and database reachability (no personal data)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from carprivacy import __version__
from carprivacy.domain.policy import Policy
from carprivacy.entrypoints.api.deps import get_database, get_policy
from carprivacy.services.ports.operations import Database

router = APIRouter(tags=["health"])


@router.get("/health")
def health(
    database: Database = Depends(get_database), policy: Policy = Depends(get_policy)
) -> dict[str, Any]:
    db = "ok" if database.ping() else "unavailable"
    return {
        "status": "ok" if db == "ok" else "degraded",
        "version": __version__,
        "database": db,
        "policy": {"id": policy.id, "version": policy.version},
    }
