"""The portal's navigation: every page group in order. An entry is a link once a router of the
portal serves its path, and shown as coming until then: the CarData pages (clients, device-code
approval, shares) plug in by adding their router under ``pages/`` at these paths."""

from __future__ import annotations

from dataclasses import dataclass

ENTRIES: tuple[tuple[str, str], ...] = (
    ("home", "/"),
    ("vehicles", "/vehicles"),
    ("privacy", "/privacy"),
    ("my_data", "/my-data"),
    ("requests", "/requests"),
    ("cardata_clients", "/cardata/clients"),
    ("device_approval", "/cardata/device"),
    ("shares", "/shares"),
)


@dataclass(frozen=True)
class Entry:
    key: str  # the message key of its label
    href: str
    live: bool


def entries(served: frozenset[str], prefix: str) -> list[Entry]:
    """``served``: the paths the portal's routers answer GET on."""
    return [Entry(key, prefix + path, path in served) for key, path in ENTRIES]
