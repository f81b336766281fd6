"""``carprivacy keys rotate-master``: re-wrap every data key under a new master key (issue 3
item 5).

Crash-safe order: the new key is written to ``<key file>.next`` (mode 0600) first; then all
data keys are re-wrapped in one transaction; then ``.next`` replaces the key file. Running the
command again after an interruption finishes the same rotation. With ``CARPRIVACY_MASTER_KEY``
from the environment, ``--new-key-file`` receives the new key and the operator switches the
variable. Stop the servers and workers during a rotation (they cache the old master key).
"""

from __future__ import annotations

import os
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

    Stop every `carprivacy serve` and `carprivacy ingest` process first: they cache the old
    master key, and a data key they create during the rotation would stay under the old one.
    """
    from rich.progress import Progress

    from carprivacy.adapters.crypto.envelope import rewrap_all
    from carprivacy.adapters.crypto.master_key import (
        MasterKeyRing,
        key_id,
        load_master_key,
        new_master_key,
        next_key_file,
        write_key_file,
    )
    from carprivacy.adapters.db.engine import make_engine
    from carprivacy.adapters.db.repositories.data_keys import SqlDataKeyRepository
    from carprivacy.config import load_settings

    settings = load_settings()
    ring = load_master_key(settings)
    if ring.file is None and new_key_file is None:
        typer.echo(
            "error: the master key comes from CARPRIVACY_MASTER_KEY; give --new-key-file", err=True
        )
        raise typer.Exit(2)
    target = new_key_file if ring.file is None else next_key_file(ring.file)
    assert target is not None
    if ring.others:  # an interrupted rotation: finish it with the waiting key
        new = ring.others[0]
    else:
        new = new_master_key()
        write_key_file(target, new)
    full = MasterKeyRing(ring.current, (*ring.others, new), ring.file)
    engine = make_engine(settings.resolved_database_url)
    try:
        with Progress(transient=True) as progress:
            task = progress.add_task("re-wrapping data keys", total=None)

            def step(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            count = rewrap_all(SqlDataKeyRepository(engine), full, new, key_id(new), step)
    finally:
        engine.dispose()
    if ring.file is not None:
        os.replace(target, ring.file)
        typer.echo(f"re-wrapped {count} data key(s); master key {key_id(new)} now in {ring.file}")
    else:
        typer.echo(
            f"re-wrapped {count} data key(s) under master key {key_id(new)}, written to {target}; "
            "set CARPRIVACY_MASTER_KEY to its content and restart"
        )


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
