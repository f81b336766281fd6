"""``carprivacy audit``: verify the hash chain and sign checkpoints (SPEC U3)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
    app.add_typer(group, name="audit")

    @group.command("verify")
    def verify() -> None:
        """Check every entry against the signed checkpoints and the witness; print the first bad
        entry and exit 1 if any (0: intact)."""
        from carprivacy.bootstrap import bootstrap

        container = bootstrap()
        try:
            result = container.audit.verify()
        finally:
            container.close()
        if result.finding is not None:
            typer.echo(f"audit log: TAMPERED: first bad {result.finding}", err=True)
            raise typer.Exit(1)
        typer.echo(
            f"audit log: ok: {result.entries_checked} entries, "
            f"{result.checkpoints_checked} signed checkpoints, "
            f"{result.heads_checked} witness heads"
        )

    @group.command("checkpoint")
    def checkpoint() -> None:
        """Sign the newest entry (a checkpoint pins the chain against rewriting)."""
        from carprivacy.bootstrap import bootstrap

        container = bootstrap()
        try:
            cp = container.audit.checkpoint()
        finally:
            container.close()
        if cp is None:
            typer.echo("audit log: nothing new to sign")
            return
        typer.echo(f"audit log: checkpoint at entry #{cp.seq} signed with key {cp.key_id}")

    @group.command("alerts")
    def alerts(
        scan: bool = typer.Option(
            False, "--scan", help="Re-run the monitoring rules over the whole log first."
        ),
        limit: int = typer.Option(50, "--limit", min=1, help="How many alerts to show."),
    ) -> None:
        """Unusual access flagged by monitoring (newest first)."""
        from carprivacy.bootstrap import bootstrap

        container = bootstrap()
        try:
            if scan:
                added = container.monitoring.scan(container.audit.repository.iter_entries())
                typer.echo(f"monitoring: {added} new alerts from the stored log")
            found = container.monitoring.alerts(limit=limit)
        finally:
            container.close()
        for a in found:
            typer.echo(f"{a.at.isoformat()}\t{a.rule.value}\t{a.caller_id}\t{a.message}")
        if not found:
            typer.echo("no alerts")
