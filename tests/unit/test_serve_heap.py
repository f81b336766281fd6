"""A serving process freezes the heap its start-up built (SPEC U1): the collector's full passes
during requests walk only what requests made, not the modules, policy and app built once."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from carprivacy.adapters.db.engine import make_engine
from carprivacy.adapters.db.migrate import upgrade
from carprivacy.entrypoints.api.app import create_served_app


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_the_served_app_is_built_then_its_heap_frozen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unfrozen: None
) -> None:
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    monkeypatch.setenv("CARPRIVACY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CARPRIVACY_DATABASE_URL", url)
    assert gc.get_freeze_count() == 0
    app = create_served_app()
    frozen = gc.get_freeze_count()
    assert frozen > 10_000  # the modules, the policy and the app: everything built so far
    assert app.routes  # built before the freeze
