"""The shred list (SPEC R3): one JSON line per erasure, in a file of its own (mode 0600) outside
the database and so outside every backup of it. A restore replays the entries newer than the
backup (docs/backups.md). Entries hold keyed pseudonyms of the subject and of the destroyed key
owners, never an id; appending is flushed and fsynced before the keys are destroyed."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

from carprivacy.services.erasure.ports import ShredEntry


class FileShredList:
    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, entry: ShredEntry) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.fchmod(fd, 0o600)
            line = json.dumps(asdict(entry), sort_keys=True) + "\n"
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def entries(self) -> list[ShredEntry]:
        if not self.path.exists():
            return []
        out: list[ShredEntry] = []
        for line in self.path.read_text().splitlines():
            if not line.strip():
                continue
            data = json.loads(line)
            data["owner_refs"] = tuple(data.get("owner_refs", ()))
            out.append(ShredEntry(**data))
        return out
