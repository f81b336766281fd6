"""The ``carprivacy`` command. Command groups live in ``commands/``, each with ``register(app)``."""

from __future__ import annotations

import importlib
import pkgutil

import typer

from carprivacy.entrypoints.cli import commands

app = typer.Typer(
    name="carprivacy",
    help="Connected-car data platform in which every promise of the privacy notice is code.",
    no_args_is_help=True,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        from carprivacy import __version__

        typer.echo(f"carprivacy {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """carprivacy: every read names its purpose; the policy file is the notice."""


for _mod in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
    importlib.import_module(f"{commands.__name__}.{_mod.name}").register(app)


if __name__ == "__main__":  # pragma: no cover
    app()
