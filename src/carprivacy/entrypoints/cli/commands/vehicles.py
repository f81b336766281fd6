"""``carprivacy vehicles credential VIN``: issue a per-vehicle credential for HTTP ingestion.

The token is printed once; only its SHA-256 is stored. ``--revoke-others`` revokes the vehicle's
earlier credentials (a replaced telematics unit).
"""

from __future__ import annotations

import typer

vehicles_app = typer.Typer(
    help="Vehicle credentials for telemetry ingestion.", no_args_is_help=True
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
