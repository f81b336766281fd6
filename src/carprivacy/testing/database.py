"""An in-memory :class:`~carprivacy.services.ports.operations.Database`: always reachable,
always at the newest revision (there is no schema to migrate), unless a test says otherwise."""

from __future__ import annotations

from dataclasses import dataclass

HEAD = "head"


@dataclass
class InMemoryDatabase:
    revision: str | None = HEAD
    reachable: bool = True
    upgrades: int = 0
    disposed: bool = False

    def where(self) -> str:
        return "in-memory store"

    def ping(self) -> bool:
        return self.reachable

    def current_revision(self) -> str | None:
        return self.revision

    def upgrade(self, revision: str = "head") -> None:
        self.upgrades += 1
        self.revision = revision

    def has_tables(self) -> bool:
        return self.revision is not None

    def dispose(self) -> None:
        self.disposed = True
