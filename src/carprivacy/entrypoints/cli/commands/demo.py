"""``carprivacy demo load``: fill the database with the demo master data (deterministic seed)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    demo = typer.Typer(help="Demo data for trying carprivacy.", no_args_is_help=True)
    app.add_typer(demo, name="demo")

    @demo.command()
    def load(
        if_empty: bool = typer.Option(
            False, "--if-empty", help="Do nothing when the database already holds master data."
        ),
        seed: int = typer.Option(2024, help="Random seed: the same seed gives the same demo."),
    ) -> None:
        """Load ~20 customers, their accounts, MINI vehicles, contracts with services, an owner
        change, a lease fleet with drivers, and payment transactions."""
        from rich.console import Console
        from rich.table import Table

        from carprivacy.bootstrap import bootstrap, utc_now
        from carprivacy.services.demo.choices import load_choices
        from carprivacy.services.demo.master_data import load_demo

        console = Console()
        container = bootstrap()
        try:
            if not container.database.has_tables():
                typer.echo(
                    "error: the database has no tables; run: carprivacy db upgrade", err=True
                )
                raise typer.Exit(1)
            service = container.master
            if if_empty and not service.is_empty():
                typer.echo("the database already holds master data: demo not loaded (--if-empty)")
                return
            summary = load_demo(service, seed)
            choices = load_choices(
                container.consent_ledger,
                summary.customer_ids,
                lambda cid: next((v.id for v in service.vehicles_of(cid, utc_now())), None),
            )
        finally:
            container.close()
        table = Table(title=f"demo master data loaded (seed {seed})")
        table.add_column("what")
        table.add_column("count", justify="right")
        for what, count in summary.rows():
            table.add_row(what, str(count))
        for what, count in (
            ("consents given (ledger)", choices.consents),
            ("consents withdrawn", choices.withdrawals),
            ("objections", choices.objections),
            ("restrictions", choices.restrictions),
        ):
            table.add_row(what, str(count))
        console.print(table)
        for note in [*summary.notes, *choices.notes]:
            console.print(f"  {note}")
        console.print("contact data and payment details are stored encrypted per customer")
