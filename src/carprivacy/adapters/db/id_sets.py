"""A set of ids as one bound parameter: ``column IN (ids)`` that costs the same for 1 or 10,000.

SQLAlchemy's ``in_([...])`` renders one bound parameter per id on every execution (for 500 ids
that rendering costs more than the query) and SQLite bounds the number of parameters, so callers
had to cut the list into chunks. Here the whole set is one parameter: a PostgreSQL array
(``column = ANY(:ids)``) or, on SQLite, a JSON array unpacked by ``json_each``. The statement's
SQL is the same for every set, so it is compiled once and cached.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from sqlalchemy import ARRAY, Select, String, any_, bindparam, func, literal_column, select
from sqlalchemy.sql.elements import ColumnElement


def among(dialect: str, column: ColumnElement[Any], ids: Collection[str]) -> ColumnElement[bool]:
    """``column`` is one of ``ids``, as one parameter, for the dialect named ``dialect``."""
    values = sorted(set(ids))
    if dialect == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(String)))
    each: Select[tuple[Any]] = select(literal_column("value")).select_from(
        func.json_each(bindparam(None, json.dumps(values), type_=String))
    )
    return column.in_(each.scalar_subquery())
