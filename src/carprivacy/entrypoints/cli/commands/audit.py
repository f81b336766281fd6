"""``carprivacy audit``: verify the hash chain, sign checkpoints, list, filter and acknowledge
monitoring's alerts (SPEC U3)."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

TIMES = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"]


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
        rule: str | None = typer.Option(
            None, "--rule", help="Only this rule: subjects_per_hour, denied_burst, off_hours."
        ),
        caller: str | None = typer.Option(None, "--caller", help="Only this caller's alerts."),
        since: datetime | None = typer.Option(
            None,
            "--since",
            formats=TIMES,
            help="Raised at or after (2026-12-01, 2026-12-01T08:00:00 or with a zone, "
            "2026-12-01T08:00:00+01:00; UTC when none is given).",
        ),
        until: datetime | None = typer.Option(
            None, "--until", formats=TIMES, help="Raised before (as --since)."
        ),
        acknowledged: bool | None = typer.Option(
            None,
            "--acknowledged/--unacknowledged",
            help="Only acknowledged alerts, or only those not acknowledged (default: both).",
        ),
        limit: int = typer.Option(50, "--limit", min=1, max=1000, help="How many to show."),
    ) -> None:
        """Unusual access flagged by monitoring (newest first), filtered; ``--scan`` first says
        how many entries it read, how many alerts the rules raised over them and how many of
        those were new, in the same words whatever it found."""
        from carprivacy.bootstrap import bootstrap
        from carprivacy.domain.monitoring import AlertRule
        from carprivacy.services.audit.monitoring import AlertQuery

        rules = [r.value for r in AlertRule]
        if rule is not None and rule not in rules:
            typer.echo(f"error: --rule: one of {', '.join(rules)}", err=True)
            raise typer.Exit(2)
        query = AlertQuery(
            AlertRule(rule) if rule else None,
            caller,
            _utc(since),
            _utc(until),
            acknowledged,
            limit,
        )
        container = bootstrap()
        try:
            if scan:
                result = container.monitoring.scan(container.audit.repository.iter_entries())
                typer.echo(f"monitoring: {result}")
            found = container.monitoring.alerts(query)
        finally:
            container.close()
        for a in found:
            state = f"acknowledged by {a.acknowledgements[-1].by}" if a.acknowledged else "open"
            typer.echo(
                f"{a.id}\t{a.at.isoformat()}\t{a.rule.value}\t{a.caller_id}\t{state}\t{a.message}"
            )
        typer.echo(f"alerts shown: {len(found)}")

    @group.command("ack")
    def ack(
        alert_id: str = typer.Argument(..., help="The alert's id (the first column of alerts)."),
        staff: str = typer.Option(..., "--as", help="The privacy officer's caller id."),
        note: str = typer.Option(..., "--note", help="What the review found."),
    ) -> None:
        """Acknowledge an alert with a note; who and when are recorded, earlier notes stay."""
        from carprivacy.bootstrap import bootstrap
        from carprivacy.domain.errors import CarPrivacyError

        container = bootstrap()
        try:
            record = container.callers.get(staff)
            if record.disabled:
                typer.echo(f"error: caller {staff} is disabled", err=True)
                raise typer.Exit(1)
            alert = container.monitoring.acknowledge(alert_id, record.to_caller(), note)
        except CarPrivacyError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        finally:
            container.close()
        last = alert.acknowledgements[-1]
        typer.echo(f"alert {alert.id}: acknowledged by {last.by} at {last.at.isoformat()}")


def _utc(at: datetime | None) -> datetime | None:
    """A time without a zone is UTC."""
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at
