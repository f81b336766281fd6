"""The operator's lists of master data (``carprivacy vehicles list``, ``customers list``).

A list is read as every read is: by the operator (``services/identity/operators.py``) for the
purpose it names, one page through the gate (``gate.page``: every row decided, the page's rows
released in the purpose's form, the rest counted and audited as one entry). An unknown purpose is
refused before anything is read, listing the purposes the operator may use.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any

import typer

from carprivacy.services.access.gate import Record, Ref
from carprivacy.services.access.views import View


def list_page(
    *,
    purpose: str,
    action: str,
    view: View,
    repository: str,
    to_data: Callable[[Any], dict[str, object]],
    columns: Sequence[str],
    title: str,
    offset: int,
    limit: int,
    as_json: bool,
) -> None:
    """Print one page of the master-data ``repository`` as the gate releases it."""
    from rich.console import Console
    from rich.table import Table

    from carprivacy.bootstrap import bootstrap
    from carprivacy.config import load_settings
    from carprivacy.domain.errors import AccessDeniedError, InvalidInputError
    from carprivacy.services.access.gate import Reading
    from carprivacy.services.access.purposes import check_purpose
    from carprivacy.services.identity.operators import operator
    from carprivacy.services.master.views import record

    services = bootstrap(load_settings())
    try:
        caller = operator(services.policy)
        try:
            check_purpose(services.decisions.policy, caller, purpose, "--purpose")
        except InvalidInputError as bad:
            for p in bad.problems:
                typer.echo(f"error: {p.path}: [{p.rule}] {p.message}", err=True)
            raise typer.Exit(2) from None

        def index(s: Any) -> Sequence[Ref]:
            rows: Sequence[Ref] = getattr(s, repository).refs()
            return rows

        def load(s: Any, ids: Sequence[str]) -> Iterable[Record]:
            return (record(view, to_data(x)) for x in getattr(s, repository).get_many(ids))

        try:
            page = services.gate.page(
                Reading(caller, purpose, action), view, index, load, offset, limit
            )
        except AccessDeniedError as refused:
            typer.echo(f"error: {refused}", err=True)
            for reason in refused.reasons:
                typer.echo(f"  {reason}", err=True)
            raise typer.Exit(1) from None
    finally:
        services.close()
    if as_json:
        for item in page.items:
            typer.echo(json.dumps(item, separators=(",", ":"), default=_plain))
        return
    console = Console()
    console.print(
        f"{page.total:,} {title} readable for purpose {purpose}; "
        f"showing {len(page.items)} from {offset}"
    )
    if not page.items:
        return
    table = Table(title=f"{title} ({purpose})")
    shown = [c for c in columns if any(c in item for item in page.items)]
    for column in shown:
        table.add_column(column, overflow="fold")
    for item in page.items:
        table.add_row(*(_cell(item.get(c)) for c in shown))
    console.print(table)


def _plain(value: object) -> str:
    return value.isoformat() if isinstance(value, (datetime, date)) else str(value)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return _plain(value)
