"""ARCHITECTURE.md's dependency rules, enforced.

The domain imports only the standard library; services import no framework or adapter; no module
is a junk drawer (utils/helpers/misc/common).
"""

from __future__ import annotations

import ast
import re
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


# -- services depend on nothing but the standard library, the domain and other services -------
ALLOWED_IN_SERVICES = ("carprivacy.domain", "carprivacy.services")


def third_party_imports(path: Path) -> list[str]:
    """Imports of ``path`` that are neither the standard library nor allowed carprivacy layers."""
    return [
        f"{path.name}:{line}: {name}"
        for line, name in imports_of(path)
        if name.split(".")[0] not in STDLIB
        and not any(name == a or name.startswith(a + ".") for a in ALLOWED_IN_SERVICES)
    ]


@pytest.mark.parametrize("path", modules("services"), ids=lambda p: p.name)
def test_services_import_only_the_standard_library_the_domain_and_services(path: Path) -> None:
    bad = third_party_imports(path)
    assert not bad, "services/ take infrastructure through ports (adapters/):\n" + "\n".join(bad)


def test_crypto_and_auth_libraries_live_in_adapters_only() -> None:
    used = {
        name.split(".")[0]
        for path in modules("services")
        for _, name in imports_of(path)
        if name.split(".")[0] in {"argon2", "jwt", "cryptography"}
    }
    assert not used
    adapters = {n.split(".")[0] for p in modules("adapters") for _, n in imports_of(p)}
    assert {"argon2", "jwt", "cryptography"} <= adapters  # they moved, they did not vanish


def test_the_check_itself_catches_a_third_party_import_in_a_service(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import os\nimport argon2\nimport jwt\nfrom cryptography.exceptions import InvalidTag\n"
        "from carprivacy.domain.errors import Problem\n"
        "from carprivacy.services.ports import clock\n"
        "from carprivacy.adapters.crypto import tokens\n",
        encoding="utf-8",
    )
    found = [line.split(": ", 1)[1] for line in third_party_imports(bad)]
    assert found == ["argon2", "jwt", "cryptography.exceptions", "carprivacy.adapters.crypto"]


# -- ports live where a reader expects them ---------------------------------------------------
def protocols_of(path: Path) -> list[str]:
    """The ``class X(Protocol)`` (also ``Protocol[T]``, ``typing.Protocol``) defined in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef):
            continue
        for base in node.bases:
            target = base.value if isinstance(base, ast.Subscript) else base
            name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
            if name == "Protocol":
                found.append(node.name)
    return found


def misplaced_protocols(root: Path) -> list[str]:
    return [
        f"{path.relative_to(root)}: {name}"
        for path in sorted(root.rglob("*.py"))
        if path.name != "ports.py" and path.relative_to(root).parts[0] != "ports"
        for name in protocols_of(path)
    ]


def test_every_port_of_a_service_lives_in_a_ports_module() -> None:
    bad = misplaced_protocols(SRC / "services")
    assert not bad, "a Protocol goes in its room's ports.py (or services/ports/):\n" + "\n".join(
        bad
    )
    assert protocols_of(SRC / "services" / "identity" / "ports.py")  # the walk finds them


def test_the_check_itself_catches_a_protocol_outside_ports(tmp_path: Path) -> None:
    room = tmp_path / "consent"
    room.mkdir()
    (room / "ledger.py").write_text(
        "import typing\nfrom typing import Protocol\n"
        "class Ledger(Protocol): ...\nclass Typed(typing.Protocol): ...\n"
        "class Generic(Protocol[T]): ...\nclass Plain: ...\n",
        encoding="utf-8",
    )
    (room / "ports.py").write_text("class Fine(Protocol): ...\n", encoding="utf-8")
    (tmp_path / "ports").mkdir()
    (tmp_path / "ports" / "clock.py").write_text("class Clock(Protocol): ...\n", encoding="utf-8")
    assert misplaced_protocols(tmp_path) == [
        "consent/ledger.py: Ledger",
        "consent/ledger.py: Typed",
        "consent/ledger.py: Generic",
    ]


ADAPTERS = "carprivacy.adapters"


def adapter_imports(path: Path) -> list[str]:
    """Every import of an adapter in ``path``, also inside functions and ``TYPE_CHECKING``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
            if node.module == "carprivacy":  # from carprivacy import adapters
                names = [f"carprivacy.{alias.name}" for alias in node.names]
        else:
            continue
        found.extend(
            f"{path.name}:{node.lineno}: {n}"
            for n in names
            if n == ADAPTERS or n.startswith(ADAPTERS + ".")
        )
    return found


@pytest.mark.parametrize(
    "path", modules("entrypoints"), ids=lambda p: str(p.relative_to(SRC / "entrypoints"))
)
def test_entrypoints_import_no_adapter(path: Path) -> None:
    """Routes and commands reach adapters only through the composition root (bootstrap.py)."""
    bad = adapter_imports(path)
    assert not bad, "entrypoints/ get adapters from carprivacy.bootstrap only:\n" + "\n".join(bad)


def test_the_entrypoint_check_catches_every_form_of_adapter_import(tmp_path: Path) -> None:
    bad = tmp_path / "route.py"
    bad.write_text(
        "from typing import TYPE_CHECKING\n"
        "import carprivacy.adapters.db.engine\n"
        "from carprivacy import adapters\n"
        "if TYPE_CHECKING:\n"
        "    from carprivacy.adapters.mqtt.worker import WorkerStats\n"
        "def handler():\n"
        "    from carprivacy.adapters.notice.notice import render_notice\n"
        "from carprivacy.bootstrap import bootstrap\n"  # allowed
        "from carprivacy.adaptersx import nothing\n",  # another name, not an adapter
        encoding="utf-8",
    )
    found = adapter_imports(bad)
    assert [f.split(": ", 1)[1] for f in found] == [
        "carprivacy.adapters.db.engine",
        "carprivacy.adapters",
        "carprivacy.adapters.mqtt.worker",
        "carprivacy.adapters.notice.notice",
    ]
    good = tmp_path / "clean.py"
    good.write_text("from carprivacy.bootstrap import bootstrap\n", encoding="utf-8")
    assert adapter_imports(good) == []


# -- history lives in git: names and comments say what a thing is ------------------------------
HISTORY_LABEL = re.compile(
    r"\bissues? \d+|\bitems? \d+(?:[,-]\d+)*\b|trial finding|review finding|new-user trial",
    re.IGNORECASE,
)


def history_labels(path: Path) -> list[str]:
    return [
        f"{path.name}:{n}: {m.group(0)}"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        for m in HISTORY_LABEL.finditer(line)
    ]


def test_no_history_labels_in_source() -> None:
    """src/, tests/ and bench/: this file's own sample of a label is the one exception."""
    here = Path(__file__).resolve()
    roots = (SRC, here.parents[1], SRC.parents[1] / "bench")
    files = sorted(p for root in roots for p in root.rglob("*.py") if p.resolve() != here)
    found = [hit for path in files for hit in history_labels(path)]
    assert not found, "history belongs in git, not in source:\n" + "\n".join(found)


def test_the_label_check_catches_a_history_label(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        '"""Ingest (issue 3 item 5; SPEC I3)."""\n# trial finding: x\nlimit = 5  # items 2, 4\n'
        "count = 3  # 3 items\n",
        encoding="utf-8",
    )
    assert [h.split(": ", 1)[1] for h in history_labels(bad)] == [
        "issue 3",
        "item 5",
        "trial finding",
        "items 2",
    ]


# -- docs/architecture.md lists what this file checks ------------------------------------------
ARCHITECTURE_DOC = SRC.parents[1] / "docs" / "architecture.md"


def test_the_documented_rules_are_the_tested_ones() -> None:
    text = ARCHITECTURE_DOC.read_text(encoding="utf-8")
    section = text.split("## Rules the tests check", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`(test_\w+)`", section))
    tests = set(re.findall(r"^def (test_\w+)", Path(__file__).read_text(encoding="utf-8"), re.M))
    assert documented - tests == set(), "docs/architecture.md names rules no test checks"
    assert tests - documented == set(), (
        "tests/unit/test_architecture.py checks rules not documented"
    )
