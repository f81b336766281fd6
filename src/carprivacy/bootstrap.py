"""The composition root: the only place that wires adapters into services.

Nothing connects at import time; ``build_container`` is called by the API factory and the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from carprivacy.adapters.db.engine import make_engine
from carprivacy.config import Settings, load_settings
from carprivacy.domain.policy import Policy


@dataclass
class Container:
    settings: Settings
    engine: Engine
    policy: Policy
    # Services wired per capability; see build_container.
    services: dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        self.engine.dispose()


def load_policy(settings: Settings) -> Policy:
    from carprivacy.adapters.policy.loader import load_policy_file

    return load_policy_file(settings.policy_path)


def build_container(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    policy: Policy | None = None,
) -> Container:
    settings = settings or load_settings()
    engine = engine or make_engine(settings.resolved_database_url)
    policy = policy or load_policy(settings)
    return Container(settings=settings, engine=engine, policy=policy)
