"""``carprivacy third-parties``: register the organisations customers may share CarData with,
list them, and give one a CarData client id (SPEC C2, P5; Data Act Art. 5). Run by the
operator as the installation's administrator; a DMA gatekeeper is refused (Art. 5(3))."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from carprivacy.domain.access import Caller
    from carprivacy.domain.policy import Policy


def _admin(policy: Policy) -> Caller:
    """The operator, acting as the installation's administrator."""
    from carprivacy.domain.access import Role
    from carprivacy.services.identity.operators import operator

    return replace(operator(policy), role=Role.ADMINISTRATOR)


def _refused(exc: Exception) -> None:
    from carprivacy.domain.errors import InvalidInputError

    if isinstance(exc, InvalidInputError):
        for p in exc.problems:
            typer.echo(f"error: {p.path}: [{p.rule}] {p.message}", err=True)
    else:
        typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(1) from None


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="CarData third parties: organisations customers may share with.",
        no_args_is_help=True,
    )
    app.add_typer(group, name="third-parties")

    @group.command("register")
    def register_party(
        party_id: str = typer.Option(..., "--id", help="Organisation id its callers carry."),
        name: str = typer.Option(..., "--name", help="Its name, as customers see it."),
        country: str = typer.Option(..., "--country", help="ISO 3166-1 alpha-2, e.g. NL."),
        mechanism: str = typer.Option(
            "eea", "--transfer-mechanism", help="eea | adequacy | scc (outside the EEA)."
        ),
        undertaking: str = typer.Option(..., "--undertaking", help="The group it belongs to."),
        member_of: str = typer.Option(
            "cardata_third_parties", "--member-of", help="The policy recipient it belongs to."
        ),
    ) -> None:
        """Register a third party: from then on a recipient of the policy under its own id."""
        from carprivacy.bootstrap import bootstrap
        from carprivacy.domain.errors import AccessDeniedError, ConflictError, InvalidInputError

        services = bootstrap()
        try:
            party = services.sharing.registry.register(
                _admin(services.policy),
                party_id,
                name,
                country,
                mechanism,
                undertaking,
                member_of,
            )
        except (InvalidInputError, ConflictError, AccessDeniedError) as exc:
            _refused(exc)
            return
        finally:
            services.close()
        typer.echo(f"registered {party.id} ({party.country}, {party.transfer_mechanism.value})")

    @group.command("list")
    def list_parties() -> None:
        """The registered third parties."""
        from carprivacy.bootstrap import bootstrap

        services = bootstrap()
        try:
            parties = services.sharing.registry.parties()
        finally:
            services.close()
        for p in parties:
            typer.echo(
                f"{p.id}\t{p.name}\t{p.country}\t{p.transfer_mechanism.value}\t{p.undertaking}"
            )

    @group.command("add-client")
    def add_client(
        party_id: str = typer.Option(..., "--party", help="The registered third party."),
        owner_id: str = typer.Option(..., "--owner", help="Its partner caller's id."),
        name: str = typer.Option(..., "--name", help="The client's name."),
        agreed_purpose: str = typer.Option(..., "--agreed-purpose", help="In words."),
        descriptors: str = typer.Option(..., "--descriptors", help="Comma-separated signals."),
        days: int = typer.Option(365, "--days", help="How long the share lasts."),
        purpose: str = typer.Option("cardata_sharing", "--purpose", help="The policy purpose."),
        scopes: str = typer.Option(
            "cardata:api:read",
            "--scopes",
            help="Comma-separated: cardata:api:read, cardata:streaming:read.",
        ),
    ) -> None:
        """A CarData client id of the third party whose device code asks a customer for a
        share of these descriptors; prints the client id."""
        from carprivacy.bootstrap import bootstrap
        from carprivacy.domain.errors import (
            AccessDeniedError,
            InvalidInputError,
            NotFoundError,
        )

        services = bootstrap()
        try:
            client, _ = services.sharing.registry.add_client(
                _admin(services.policy),
                party_id,
                owner_id,
                name,
                purpose,
                agreed_purpose,
                [d.strip() for d in descriptors.split(",") if d.strip()],
                days,
                [x.strip() for x in scopes.split(",") if x.strip()],
            )
        except (InvalidInputError, AccessDeniedError, NotFoundError) as exc:
            _refused(exc)
            return
        finally:
            services.close()
        typer.echo(client.id)
