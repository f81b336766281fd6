"""The one SQLAlchemy MetaData of carprivacy; table modules register on it."""

from __future__ import annotations

from sqlalchemy import MetaData

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


def load_all_tables() -> MetaData:
    """Import every table module so that ``metadata`` knows all tables (for Alembic and tests)."""
    import importlib
    import pkgutil

    from carprivacy.adapters.db import tables

    for mod in pkgutil.iter_modules(tables.__path__):
        importlib.import_module(f"{tables.__name__}.{mod.name}")
    return metadata
