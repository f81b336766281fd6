"""``carprivacy db``: migrate the database (SQLite file by default, or CARPRIVACY_DATABASE_URL)."""

from __future__ import annotations

import typer


def _where(url: str) -> str:
    """The database to show the user: the SQLite file, or the URL without its password."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"SQLite file {parsed.database}"
    return parsed.render_as_string(hide_password=True)


def register(app: typer.Typer) -> None:
    db = typer.Typer(help="The database: migrations and their state.", no_args_is_help=True)
    app.add_typer(db, name="db")

    @db.command()
    def upgrade(
        revision: str = typer.Option("head", help="Target revision (default: the newest)."),
    ) -> None:
        """Create or migrate the tables (embedded SQLite default, or CARPRIVACY_DATABASE_URL)."""
        from carprivacy.adapters.db import migrate
        from carprivacy.adapters.db.engine import make_engine
        from carprivacy.config import load_settings

        url = load_settings().resolved_database_url
        engine = make_engine(url)
        try:
            before = migrate.current_revision(engine)
            migrate.upgrade(engine, revision)
            after = migrate.current_revision(engine)
        except Exception as exc:  # noqa: BLE001 - report without a traceback, keep the cause
            typer.echo(f"error: migrating {_where(url)} failed: {type(exc).__name__}", err=True)
            raise typer.Exit(1) from exc
        finally:
            engine.dispose()
        typer.echo(f"database: {_where(url)}")
        if before == after:
            typer.echo(f"already at revision {after}")
        else:
            typer.echo(f"migrated from {before or 'an empty database'} to {after}")

    @db.command()
    def current() -> None:
        """Show which database is used and its revision."""
        from carprivacy.adapters.db import migrate
        from carprivacy.adapters.db.engine import make_engine
        from carprivacy.config import load_settings

        url = load_settings().resolved_database_url
        engine = make_engine(url)
        try:
            revision = migrate.current_revision(engine)
        finally:
            engine.dispose()
        typer.echo(f"database: {_where(url)}")
        typer.echo(f"revision: {revision or 'none (run: carprivacy db upgrade)'}")
