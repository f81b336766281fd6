"""The composition root: the only place that wires adapters into services.

Nothing connects at import time; ``build_container`` is called by the API factory and the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from carprivacy.adapters.db.engine import make_engine
from carprivacy.config import Settings, load_settings
from carprivacy.domain.policy import Policy
from carprivacy.services.master import MasterDataService


@dataclass
class Container:
    settings: Settings
    engine: Engine
    policy: Policy
    # Services wired per capability; see build_container.
    services: dict[str, Any] = field(default_factory=dict)
    _master: MasterDataService | None = field(default=None, init=False, repr=False)

    @property
    def master(self) -> MasterDataService:
        """Master data use cases (SPEC I4) on the SQL store; sensitive columns go through
        ``self.cipher`` (the FieldCipher wired by the crypto adapter)."""
        if self._master is None:
            from carprivacy.adapters.db.repositories.master import SqlMasterDataUnitOfWork

            cipher = getattr(self, "cipher", None)
            if cipher is None:
                raise RuntimeError("Container.cipher (FieldCipher) is not wired")
            engine = self.engine
            self._master = MasterDataService(
                lambda: SqlMasterDataUnitOfWork(engine, cipher),
                utc_now,
                controllers={c.id: c.account_owner for c in self.policy.controllers},
            )
        return self._master

    def close(self) -> None:
        self.engine.dispose()


def utc_now() -> datetime:
    return datetime.now(UTC)


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
