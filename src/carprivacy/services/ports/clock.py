"""The clock port, shared by every room: time is an input. Anything that depends on "now" takes
a clock, so tests can move a subject through years of retention in milliseconds."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    """Returns the current moment, timezone-aware (UTC in production)."""

    def __call__(self) -> datetime: ...
