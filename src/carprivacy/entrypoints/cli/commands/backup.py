"""``carprivacy backup <file>`` and ``carprivacy restore <file>`` (SPEC R3): a consistent copy of
the database (SQLite online backup API; pg_dump / pg_restore), and a restore that replays the
shred list, so that a subject erased since the backup is erased again before anything is read."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("backup")
    def backup_command(
        file: Path = typer.Argument(..., help="Where to write the backup (mode 0600)."),
    ) -> None:
        """Write a consistent backup of the database while it is in use. The shred list
        (shred_list_path) is not in it: keep it, and its copies, apart from the backups."""
        from carprivacy.bootstrap import backup_database
        from carprivacy.config import load_settings
        from carprivacy.domain.errors import CarPrivacyError

        try:
            backup_database(load_settings(), file)
        except CarPrivacyError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        typer.echo(f"backup written: {file} ({file.stat().st_size} bytes)")

    @app.command("restore")
    def restore_command(
        file: Path = typer.Argument(..., help="A file written by `carprivacy backup`."),
        yes: bool = typer.Option(False, "--yes", help="Replace the database without asking."),
    ) -> None:
        """Replace the database with a backup, then replay the shred list: every erasure done
        since the backup is carried out again (keys destroyed, rows purged, no second notice).
        Stop `serve` and `ingest` first; run `carprivacy retention run` before serving reads."""
        from carprivacy.bootstrap import restore_database
        from carprivacy.config import load_settings
        from carprivacy.domain.errors import CarPrivacyError

        if not yes:
            typer.confirm("Replace the database with the backup?", abort=True)
        try:
            replayed = restore_database(load_settings(), file)
        except CarPrivacyError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        typer.echo(f"restored: {file}")
        typer.echo(f"shred list replayed: {len(replayed)} erasure(s) carried out again")
