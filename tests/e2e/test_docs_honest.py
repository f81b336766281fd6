"""Docs that tests keep honest (Datasette style): settings and CLI reference are generated."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from carprivacy.config import Settings
from carprivacy.entrypoints.cli.commands.config import reference_markdown

REPO = Path(__file__).resolve().parents[2]


def test_every_setting_is_described() -> None:
    missing = [name for name, info in Settings.model_fields.items() if not info.description]
    assert not missing, f"settings without a description: {missing}"


def test_configuration_page_is_current() -> None:
    page = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert page == reference_markdown(), "docs/configuration.md is stale: run `make docs`"


def test_cli_reference_is_current() -> None:
    typer_bin = Path(sys.executable).with_name("typer")
    generated = subprocess.run(
        [str(typer_bin), "carprivacy.entrypoints.cli.main"]
        + ["utils", "docs", "--name", "carprivacy"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    page = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    assert page.strip() == generated.strip(), "docs/cli.md is stale: run `make docs`"
