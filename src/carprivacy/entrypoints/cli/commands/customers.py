"""``carprivacy customers list --purpose P``: the customers, through the gate, as the operator."""

from __future__ import annotations

import typer

customers_app = typer.Typer(help="Customers (master data).", no_args_is_help=True)


@customers_app.command("list")
def list_customers(
    purpose: str = typer.Option(
        ...,
        help="The purpose of this read (a purpose id of the policy), e.g. customer_service "
        "(only customers with a contract in force are readable for it).",
    ),
    offset: int = typer.Option(0, min=0, help="Skip this many readable customers."),
    limit: int = typer.Option(50, min=1, max=500, help="How many to list."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per customer, no table."),
) -> None:
    """List customers (id, name, city, e-mail...) as the operator, in the purpose's form;
    decided per customer and recorded in the audit log."""
    from carprivacy.entrypoints.cli.listing import list_page
    from carprivacy.services.master.views import CUSTOMER, customer_data

    list_page(
        purpose=purpose,
        action="carprivacy customers list",
        view=CUSTOMER,
        repository="customers",
        to_data=customer_data,
        columns=("id", "first_name", "surname", "city", "country", "email", "erased"),
        title="customers",
        offset=offset,
        limit=limit,
        as_json=as_json,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(customers_app, name="customers")
