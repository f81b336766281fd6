"""``carprivacy callers``: create and list callers (SPEC U1)."""

from __future__ import annotations

import sys

import typer


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Callers: people and machines that use the API.", no_args_is_help=True)
    app.add_typer(group, name="callers")

    @group.command("add")
    def add(
        name: str = typer.Option(..., "--name", help="Display name."),
        kind: str = typer.Option(..., "--kind", help="person | machine"),
        role: str = typer.Option(..., "--role", help="e.g. privacy_officer, dealer, partner"),
        organisation: str = typer.Option(
            ..., "--organisation", help="A recipient id or controller id of the policy."
        ),
        scopes: str = typer.Option("", "--scopes", help="Space- or comma-separated scopes."),
        email: str | None = typer.Option(None, "--email", help="For e-mail code login."),
        subject_id: str | None = typer.Option(None, "--subject-id", help="Customers: who."),
        fleet_id: str | None = typer.Option(None, "--fleet-id", help="Fleet managers: which."),
        caller_id: str | None = typer.Option(None, "--id", help="Default: generated."),
        password_stdin: bool = typer.Option(
            False, "--password-stdin", help="Read the password from standard input."
        ),
        generate_secret: bool = typer.Option(
            False, "--generate-secret", help="Machines: print a new client secret (once)."
        ),
    ) -> None:
        """Create a caller. Passwords come only from stdin, never from the command line."""
        from carprivacy.bootstrap import bootstrap
        from carprivacy.domain.errors import ConflictError, InvalidInputError

        password = None
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        container = bootstrap()
        try:
            record, secret = container.callers.create(
                name=name,
                kind=kind,
                role=role,
                organisation=organisation,
                scopes=[s for s in scopes.replace(",", " ").split() if s],
                email=email,
                subject_id=subject_id,
                fleet_id=fleet_id,
                password=password,
                generate_secret=generate_secret,
                caller_id=caller_id,
            )
        except InvalidInputError as exc:
            for p in exc.problems:
                typer.echo(f"error: {p.path}: [{p.rule}] {p.message}", err=True)
            raise typer.Exit(1) from None
        except ConflictError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        finally:
            container.close()
        typer.echo(
            f"caller {record.id} ({record.kind.value}, {record.role.value}, "
            f"{record.organisation}) created"
        )
        if secret is not None:
            typer.echo(f"client_id:     {record.id}")
            typer.echo(f"client_secret: {secret}")
            typer.echo("Store the secret now: it is kept only as a hash.", err=True)

    @group.command("list")
    def list_() -> None:
        """List the callers (no credentials are shown)."""
        from carprivacy.bootstrap import bootstrap

        container = bootstrap()
        try:
            for r in container.callers.list():
                state = "disabled" if r.disabled else "active"
                scopes = " ".join(sorted(r.scopes)) or "-"
                typer.echo(
                    f"{r.id}\t{r.kind.value}\t{r.role.value}\t{r.organisation}\t{state}\t"
                    f"{scopes}\t{r.name}"
                )
        finally:
            container.close()

    @group.command("disable")
    def disable(caller_id: str = typer.Argument(...)) -> None:
        """Disable a caller: its tokens stop working at once."""
        _set_disabled(caller_id, True)

    @group.command("enable")
    def enable(caller_id: str = typer.Argument(...)) -> None:
        """Enable a disabled caller again (as POST /v1/callers/{id}/enable): it may log in and
        get tokens again; tokens issued before it was disabled stay invalid."""
        _set_disabled(caller_id, False)

    @group.command("rotate-secret")
    def rotate_secret(caller_id: str = typer.Argument(...)) -> None:
        """Print a new client secret for a machine caller; the old one stops working."""
        from carprivacy.bootstrap import bootstrap
        from carprivacy.domain.errors import InvalidInputError, NotFoundError

        container = bootstrap()
        try:
            secret = container.callers.rotate_secret(caller_id)
        except (NotFoundError, InvalidInputError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        finally:
            container.close()
        typer.echo(f"client_id:     {caller_id}")
        typer.echo(f"client_secret: {secret}")


def _set_disabled(caller_id: str, disabled: bool) -> None:
    from carprivacy.bootstrap import bootstrap
    from carprivacy.domain.errors import NotFoundError

    container = bootstrap()
    try:
        container.callers.set_disabled(caller_id, disabled)
    except NotFoundError:
        typer.echo(f"error: caller {caller_id} not found", err=True)
        raise typer.Exit(1) from None
    finally:
        container.close()
    typer.echo(f"caller {caller_id} {'disabled' if disabled else 'enabled'}")
