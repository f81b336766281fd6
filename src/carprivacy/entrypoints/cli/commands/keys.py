"""``carprivacy keys rotate-master``: re-wrap every data key under a new master key (SPEC I3),
while ``serve`` and ``ingest`` keep running.

The steps and why each can be interrupted are in ``carprivacy.adapters.crypto.rotation`` and
docs/adr/master-key-rotation.md; running the command again finishes an interrupted rotation.
With ``CARPRIVACY_MASTER_KEY`` from the environment, ``--new-key-file`` receives the new key and
the operator switches the variable and restarts the processes.
"""

from __future__ import annotations

from pathlib import Path

import typer

keys_app = typer.Typer(help="Master key and data keys (envelope encryption).", no_args_is_help=True)


@keys_app.command("rotate-master")
def rotate_master(
    new_key_file: Path | None = typer.Option(
        None, help="Where to write the new key when the current one comes from the environment."
    ),
) -> None:
    """Generate a new master key and re-wrap every data key under it.

    Safe while `carprivacy serve` and `carprivacy ingest` run on this host (or see the same key
    file directory): they pick up the new key from `<key file>.next` and then the key file.
    Rotations wait for each other (`<key file>.lock` and a lock in the database), from any
    host. If interrupted, run it again: it finishes
    the same rotation. With CARPRIVACY_MASTER_KEY, the new key goes to --new-key-file: set the
    variable to it and restart the processes (until then they cannot read re-wrapped keys).
    """
    from rich.console import Console
    from rich.progress import Progress

    from carprivacy.bootstrap import bootstrap
    from carprivacy.config import load_settings
    from carprivacy.services.ports.operations import MasterKeyRotationError

    settings = load_settings()
    if settings.master_key is not None and new_key_file is None:
        typer.echo(
            "error: the master key comes from CARPRIVACY_MASTER_KEY; give --new-key-file", err=True
        )
        raise typer.Exit(2)
    services = bootstrap(settings)
    try:
        err = Console(stderr=True)
        # a bar on a terminal only: piped, it would leave an empty line behind
        with Progress(transient=True, console=err, disable=not err.is_terminal) as progress:
            task = progress.add_task("re-wrapping data keys", total=None)

            def step(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            def waiting() -> None:
                progress.console.print("waiting for another rotation to finish")

            done = services.rotate_master_key(
                new_key_file=new_key_file,
                progress=step,
                waiting=waiting,
            )
    except MasterKeyRotationError as exc:  # key ids only, never an owner
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1 if exc.stopped else 2) from None
    finally:
        services.close()
    if done.from_environment:
        typer.echo(
            f"re-wrapped {done.rewrapped} data key(s) under master key {done.new_id}, written to "
            f"{done.key_file}; set CARPRIVACY_MASTER_KEY to its content and restart"
        )
    else:
        typer.echo(
            f"re-wrapped {done.rewrapped} data key(s); master key {done.new_id} now in "
            f"{done.key_file}"
        )


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
