"""The package's public surface is small and deliberate (httpx-style __all__ guard)."""

from __future__ import annotations

import carprivacy


def test_public_api_is_curated() -> None:
    assert carprivacy.__all__ == ["__version__"]
    assert carprivacy.__version__.count(".") == 2
