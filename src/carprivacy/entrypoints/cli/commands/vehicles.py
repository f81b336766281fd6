"""``carprivacy vehicles credential VIN``: issue a per-vehicle credential for HTTP ingestion;
``carprivacy vehicles list --purpose P``: the registered vehicles, through the gate.

The token is printed once; only its SHA-256 is stored. ``--revoke-others`` revokes the vehicle's
earlier credentials (a replaced telematics unit).
"""

from __future__ import annotations

import typer

vehicles_app = typer.Typer(
    help="Vehicles: the list, and credentials for telemetry ingestion.", no_args_is_help=True
)


@vehicles_app.command("list")
def list_vehicles(
    purpose: str = typer.Option(
        ...,
        help="The purpose of this read (a purpose id of the policy), e.g. after_sales_service "
        "(vehicle-linked: VIN and model, never the owner).",
    ),
    offset: int = typer.Option(0, min=0, help="Skip this many readable vehicles."),
    limit: int = typer.Option(50, min=1, max=500, help="How many to list."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per vehicle, no table."),
) -> None:
    """List registered vehicles (id, VIN, model...) as the operator, in the purpose's form;
    decided per vehicle and recorded in the audit log."""
    from carprivacy.entrypoints.cli.listing import list_page
    from carprivacy.services.master.views import VEHICLE_RECORD, vehicle_data

    list_page(
        purpose=purpose,
        action="carprivacy vehicles list",
        view=VEHICLE_RECORD,
        repository="vehicles",
        to_data=vehicle_data,
        columns=("id", "vin", "model", "colour", "equipment", "end_of_life"),
        title="vehicles",
        offset=offset,
        limit=limit,
        as_json=as_json,
    )


@vehicles_app.command("credential")
def credential(
    vin: str = typer.Argument(..., help="The vehicle's VIN (17 characters)."),
    revoke_others: bool = typer.Option(
        False, "--revoke-others", help="Revoke the vehicle's earlier credentials first."
    ),
) -> None:
    """Issue a bearer token for POST /v1/telemetry; shown once, stored hashed."""
    from carprivacy.bootstrap import bootstrap
    from carprivacy.domain.errors import CarPrivacyError

    container = bootstrap()
    try:
        vehicle = container.master.find_vehicle_by_vin(vin)
        if vehicle is None:
            typer.echo(f"error: no vehicle with VIN {vin} is registered", err=True)
            raise typer.Exit(1)
        if revoke_others:
            revoked = container.vehicle_credentials.revoke_all(vehicle.id)
            typer.echo(f"revoked {revoked} earlier credential(s)", err=True)
        issued = container.vehicle_credentials.issue(vehicle.id, vin)
    except CarPrivacyError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        container.close()
    typer.echo(
        f"credential {issued.credential_id} for {vin} (shown once; only its hash is stored):",
        err=True,
    )
    typer.echo(issued.token)


def register(app: typer.Typer) -> None:
    app.add_typer(vehicles_app, name="vehicles")
