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

for _mod in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
    importlib.import_module(f"{commands.__name__}.{_mod.name}").register(app)


if __name__ == "__main__":  # pragma: no cover
    app()
