"""``carprivacy demo load``: fill the database with the demo: master data (deterministic seed),
consents, an objection and a restriction, a week of telemetry for six vehicles, and a login for
every role; prints the VINs and the logins (each password or client secret once)."""

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
        telemetry: bool = typer.Option(
            True, help="Also ingest a week of simulated telemetry for six of the vehicles."
        ),
    ) -> None:
        """Load ~20 customers, their accounts, MINI vehicles, contracts with services, an owner
        change, a lease fleet with drivers, payment transactions, consents (some withdrawn), an
        objection, a restriction, a week of telemetry for six vehicles and a login for every
        role. The logins' passwords and client secrets are generated now and printed once
        (stored only hashed)."""
        from rich.console import Console
        from rich.table import Table

        from carprivacy.bootstrap import bootstrap, utc_now
        from carprivacy.services.demo.callers import load_callers
        from carprivacy.services.demo.choices import load_choices
        from carprivacy.services.demo.master_data import load_demo
        from carprivacy.services.demo.telemetry import load_week
        from carprivacy.services.demo.third_parties import load_third_parties

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
            values = 0
            if telemetry:
                values = load_week(
                    container.ingest, container.catalogue, summary.telemetry_vins, utc_now()
                )
            logins = load_callers(container.callers, summary.customer_ids, summary.fleet_id)
            parties = load_third_parties(container.sharing.registry, container.policy)
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
        table.add_row("telemetry values (a week)", str(values))
        console.print(table)
        for note in [*summary.notes, *choices.notes, *parties]:
            console.print(f"  {note}")
        console.print("contact data and payment details are stored encrypted per customer")
        weekly = set(summary.telemetry_vins)
        cars = Table(title="vehicles (* : a week of telemetry)")
        for column in ("vehicle id", "VIN", "model", "whose data"):
            cars.add_column(column, overflow="fold")
        for vid, vin, model, whose in summary.made:
            cars.add_row(vid, vin + (" *" if vin in weekly else ""), model, whose)
        console.print(cars)
        people = Table(title="logins (stored only hashed)")
        for column in ("login", "kind", "role", "organisation", "try"):
            people.add_column(column, overflow="fold")
        for login in logins:
            c = login.caller
            people.add_row(c.id, c.kind, c.role, c.organisation, c.tries)
        console.print(people)
        # one plain line per secret: a table would break a long secret over lines, uncopyable
        console.print("passwords / client secrets (shown once, not again):")
        for login in logins:
            secret = login.secret or "(exists: not shown again)"
            console.print(
                f"  {login.caller.id}  {secret}", soft_wrap=True, highlight=False, markup=False
            )
        console.print(
            "people: POST /v1/auth/login {login, password}; machines: POST /v1/oauth/token "
            "(client_credentials); customers read their own data under /v1/me, everyone else "
            "names a purpose (GET /v1/purposes lists theirs)"
        )
        console.print(
            "web pages (carprivacy serve, default port 8000): the customer portal at "
            "http://localhost:8000/portal/ (e.g. demo-owner); the privacy officer's console at "
            "http://localhost:8000/console/ (demo-dpo, the password above)",
            soft_wrap=True,
            highlight=False,
            markup=False,
        )
