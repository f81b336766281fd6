"""The SQL database as a whole (the ``Database`` port): where it is, whether it answers, and its
Alembic revision. ``carprivacy db`` and ``GET /health`` use it."""

from __future__ import annotations

from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import make_url

from carprivacy.adapters.db import migrate


def describe_url(url: str) -> str:
    """The database to show a person: the SQLite file, or the URL without its password."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"SQLite file {parsed.database}"
    return parsed.render_as_string(hide_password=True)


class SqlDatabase:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def where(self) -> str:
        return describe_url(self.engine.url.render_as_string(hide_password=False))

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - report, never leak details
            return False
        return True

    def current_revision(self) -> str | None:
        return migrate.current_revision(self.engine)

    def upgrade(self, revision: str = "head") -> None:
        migrate.upgrade(self.engine, revision)

    def has_tables(self) -> bool:
        return inspect(self.engine).has_table("customers")

    def dispose(self) -> None:
        self.engine.dispose()
