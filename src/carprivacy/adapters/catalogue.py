"""Reads the signal catalogue file (default: the packaged ``data/signals.yaml``)."""

from __future__ import annotations

from pathlib import Path

import yaml

from carprivacy.config import PACKAGE_DIR
from carprivacy.domain.errors import PolicyError, Problem
from carprivacy.domain.signals.catalogue import SignalCatalogue, catalogue_from_mapping

DEFAULT_CATALOGUE = PACKAGE_DIR / "data" / "signals.yaml"


def load_catalogue(path: Path | None = None) -> SignalCatalogue:
    path = path or DEFAULT_CATALOGUE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        raise PolicyError([Problem(str(path.name), "yaml", f"malformed YAML at {where}")]) from exc
    if not isinstance(data, dict):
        raise PolicyError([Problem(str(path.name), "type", "must be a mapping")])
    return catalogue_from_mapping(data)
