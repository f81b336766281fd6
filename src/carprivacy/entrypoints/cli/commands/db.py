"""``carprivacy db``: migrate the database (SQLite file by default, or CARPRIVACY_DATABASE_URL)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    db = typer.Typer(help="The database: migrations and their state.", no_args_is_help=True)
    app.add_typer(db, name="db")

    @db.command()
    def upgrade(
        revision: str = typer.Option("head", help="Target revision (default: the newest)."),
    ) -> None:
        """Create or migrate the tables (embedded SQLite default, or CARPRIVACY_DATABASE_URL)."""
        from carprivacy.bootstrap import sql_database
        from carprivacy.config import load_settings

        database = sql_database(load_settings())
        try:
            before = database.current_revision()
            database.upgrade(revision)
            after = database.current_revision()
        except Exception as exc:  # noqa: BLE001 - report without a traceback, keep the cause
            typer.echo(
                f"error: migrating {database.where()} failed: {type(exc).__name__}", err=True
            )
            raise typer.Exit(1) from exc
        finally:
            database.dispose()
        typer.echo(f"database: {database.where()}")
        from carprivacy.bootstrap import bootstrap

        container = bootstrap()
        try:  # the witness's first head at creation: an empty or young log is covered too
            first = container.audit.open_witness()
        finally:
            container.close()
        if first is not None:
            typer.echo(f"audit witness: started at entry #{first.seq}")
        if before == after:
            typer.echo(f"already at revision {after}")
        else:
            typer.echo(f"migrated from {before or 'an empty database'} to {after}")

    @db.command()
    def current() -> None:
        """Show which database is used and its revision."""
        from carprivacy.bootstrap import sql_database
        from carprivacy.config import load_settings

        database = sql_database(load_settings())
        try:
            revision = database.current_revision()
        finally:
            database.dispose()
        typer.echo(f"database: {database.where()}")
        typer.echo(f"revision: {revision or 'none (run: carprivacy db upgrade)'}")
