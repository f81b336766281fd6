"""ARCHITECTURE.md's dependency rules, enforced (issue 2 item 1).

The domain imports only the standard library; services import no framework or adapter; no module
is a junk drawer (utils/helpers/misc/common).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "carprivacy"
STDLIB = set(sys.stdlib_module_names)


def imports_of(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def modules(layer: str) -> list[Path]:
    return sorted((SRC / layer).rglob("*.py"))


@pytest.mark.parametrize("path", modules("domain"), ids=lambda p: p.name)
def test_domain_imports_only_the_standard_library_and_itself(path: Path) -> None:
    bad = [
        f"{path.name}:{line}: {name}"
        for line, name in imports_of(path)
        if name.split(".")[0] not in STDLIB and not name.startswith("carprivacy.domain")
    ]
    assert not bad, "domain/ must import only the standard library:\n" + "\n".join(bad)


LAYERS_ABOVE_SERVICES = ("carprivacy.adapters", "carprivacy.entrypoints", "carprivacy.bootstrap")
FORBIDDEN_IN_SERVICES = (
    "sqlalchemy",
    "fastapi",
    "starlette",
    "pydantic",
    "paho",
    "typer",
    "uvicorn",
)


@pytest.mark.parametrize("path", modules("services"), ids=lambda p: p.name)
def test_services_import_no_framework_and_no_adapter(path: Path) -> None:
    bad = [
        f"{path.name}:{line}: {name}"
        for line, name in imports_of(path)
        if name.split(".")[0] in FORBIDDEN_IN_SERVICES or name.startswith(LAYERS_ABOVE_SERVICES)
    ]
    assert not bad, "services/ import the domain and ports only:\n" + "\n".join(bad)


def test_the_check_itself_catches_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import sqlalchemy\nfrom carprivacy.adapters.db import base\n", encoding="utf-8")
    names = [n for _, n in imports_of(bad)]
    assert "sqlalchemy" in names and "carprivacy.adapters.db" in names


def test_no_junk_drawer_modules() -> None:
    junk = {"utils.py", "helpers.py", "misc.py", "common.py"}
    offenders = [str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if p.name in junk]
    assert not offenders


def test_nothing_connects_at_import_time() -> None:
    """Importing the app factory and the CLI must not create an engine or read settings."""
    import importlib

    for name in ("carprivacy.entrypoints.api.app", "carprivacy.entrypoints.cli.main"):
        module = importlib.import_module(name)
        assert not any(type(v).__name__ == "Engine" for v in vars(module).values()), (
            f"{name} holds an Engine at import time"
        )
