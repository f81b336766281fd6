"""``carprivacy retention``: delete or anonymise what has expired (SPEC L1, L2), legal holds, and
the record of past runs. How a run decides, and why it can be killed: docs/retention.md."""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import TaskID

    from carprivacy.bootstrap import Services
    from carprivacy.domain.retention_steps import RetentionStep

retention_app = typer.Typer(
    help="Retention: delete or anonymise expired data; legal holds.", no_args_is_help=True
)
hold_app = typer.Typer(help="Legal holds: pause retention for a subject or vehicle.")
retention_app.add_typer(hold_app, name="hold", no_args_is_help=True)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_every(value: str) -> int:
    """``90``, ``90s``, ``15m``, ``6h``, ``1d`` -> seconds (at least 1)."""
    found = re.fullmatch(r"\s*(\d+)\s*([smhd]?)\s*", value)
    if found is None or int(found.group(1)) < 1:
        raise typer.BadParameter("give a positive duration such as 900, 15m, 6h or 1d")
    return int(found.group(1)) * _UNITS[found.group(2) or "s"]


def _when(value: datetime | None) -> str:
    return "-" if value is None else value.isoformat(timespec="seconds")


@retention_app.command("run")
def run(
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Report what a run would remove now; change nothing."
    ),
    batch_size: int = typer.Option(
        5000, min=1, max=30000, help="Rows per batch (one transaction, one short lock)."
    ),
    every: str | None = typer.Option(
        None,
        "--every",
        help="Run again after this long (900, 15m, 6h, 1d) until stopped (Ctrl-C); "
        "or schedule single runs with cron (docs/retention.md).",
    ),
) -> None:
    """Delete or anonymise every row whose retention has run out under the policy.

    Section B telemetry after 4 weeks, identified vehicle status and maintenance data made
    vehicle-linked after 4 weeks, technical vehicle data at the vehicle's end of life, the
    quarantine after 4 weeks, contracts 1 year after they end, financial transactions after
    10 years. Active legal holds pause what they cover. Batched; safe to kill (run it again:
    same end state); every run is recorded with its counts and audited.
    """
    interval = parse_every(every) if every is not None else None
    from rich.console import Console

    from carprivacy.bootstrap import bootstrap
    from carprivacy.domain.errors import RetentionRunInProgressError

    services = bootstrap()
    err = Console(stderr=True)
    try:
        while True:
            try:
                _run_once(services, err, dry_run, batch_size)
            except RetentionRunInProgressError as exc:
                typer.echo(f"error: {exc}", err=True)
                if interval is None:
                    raise typer.Exit(1) from None
            if interval is None:
                return
            time.sleep(interval)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    finally:
        services.close()


def _run_once(services: Services, err: Console, dry_run: bool, batch_size: int) -> None:
    from rich.progress import Progress

    retention = services.retention
    retention.batch_size = batch_size
    # a bar on a terminal only: piped, it would leave an empty line behind
    with Progress(transient=True, console=err, disable=not err.is_terminal) as progress:
        tasks: dict[str, TaskID] = {}

        def step(s: RetentionStep, done: int, total: int) -> None:
            task = tasks.get(s.label)
            if task is None:
                task = tasks[s.label] = progress.add_task(s.label, total=total or None)
            progress.update(task, completed=done, total=total or None)

        report = retention.run(dry_run=dry_run, progress=step if err.is_terminal else None)
    verb = "would remove" if dry_run else "removed"
    head = "dry run" if dry_run else f"run {report.run_id}"
    typer.echo(f"{head} as of {_when(report.as_of)}: {verb} {report.total} row(s)")
    for run_id in report.interrupted:
        typer.echo(f"closed interrupted run {run_id}")
    for key, n in sorted(report.counts.items()):
        typer.echo(f"  {key.table:<22} {key.category:<22} {key.action.value:<9} {n:>9}  {key.rule}")


@retention_app.command("runs")
def runs(limit: int = typer.Option(20, min=1, max=1000, help="How many, latest first.")) -> None:
    """The latest retention runs: when, status and rows removed (per rule with --limit 1)."""
    from carprivacy.bootstrap import bootstrap

    services = bootstrap()
    try:
        found = services.retention.runs(limit)
    finally:
        services.close()
    if not found:
        typer.echo("no retention runs yet")
    for r in found:
        typer.echo(
            f"{r.id}  {r.status.value:<11} as of {_when(r.as_of)}  finished {_when(r.finished_at)}"
            f"  {r.total} row(s)"
        )
        if limit == 1:
            for key, n in r.counts:
                typer.echo(
                    f"  {key.table:<22} {key.category:<22} {key.action.value:<9} {n:>9}  {key.rule}"
                )


@hold_app.command("add")
def hold_add(
    reason: str = typer.Option(..., help="Why (legal claims, an authority's request, ...)."),
    by: str = typer.Option(..., "--by", help="Who places the hold."),
    subject: str | None = typer.Option(None, help="Customer id the hold covers."),
    vehicle: str | None = typer.Option(None, help="Vehicle id the hold covers."),
    category: str | None = typer.Option(None, help="Only this data category (a record set)."),
) -> None:
    """Place a legal hold: retention pauses for the subject's and/or vehicle's records."""
    from carprivacy.bootstrap import bootstrap
    from carprivacy.domain.errors import InvalidInputError

    services = bootstrap()
    try:
        hold = services.legal_holds.place(
            subject_id=subject, vehicle_id=vehicle, category=category, reason=reason, created_by=by
        )
    except InvalidInputError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        services.close()
    typer.echo(f"placed legal hold {hold.id}")


@hold_app.command("release")
def hold_release(
    hold_id: str = typer.Argument(..., help="The hold's id."),
    by: str = typer.Option(..., "--by", help="Who releases it."),
    reason: str = typer.Option(..., help="Why it no longer applies."),
) -> None:
    """Release a legal hold: the next retention run removes what expired meanwhile."""
    from carprivacy.bootstrap import bootstrap
    from carprivacy.domain.errors import ConflictError, InvalidInputError, NotFoundError

    services = bootstrap()
    try:
        services.legal_holds.release(hold_id, released_by=by, reason=reason)
    except (InvalidInputError, NotFoundError, ConflictError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        services.close()
    typer.echo(f"released legal hold {hold_id}")


@hold_app.command("list")
def hold_list(
    all_holds: bool = typer.Option(False, "--all", help="Released holds too."),
) -> None:
    """The legal holds (active ones unless --all)."""
    from carprivacy.bootstrap import bootstrap

    services = bootstrap()
    try:
        found = services.legal_holds.list(active_only=not all_holds)
    finally:
        services.close()
    if not found:
        typer.echo("no legal holds")
    for h in found:
        scope = ", ".join(
            part
            for part in (
                f"subject {h.subject_id}" if h.subject_id else "",
                f"vehicle {h.vehicle_id}" if h.vehicle_id else "",
                f"category {h.category}" if h.category else "",
            )
            if part
        )
        state = "active" if h.active else f"released {_when(h.released_at)} by {h.released_by}"
        typer.echo(f"{h.id}  {scope}  placed {_when(h.created_at)} by {h.created_by}  {state}")
        typer.echo(f"    reason: {h.reason}")


def register(app: typer.Typer) -> None:
    app.add_typer(retention_app, name="retention")
