"""The audit witness as an append-only file (SPEC U3): one JSON line per signed head.

The file lives on its own path (``audit_witness_path``), created 0600 and opened with O_APPEND,
so the process writes only at its end; give it to another user or an append-only mount
(``chattr +a``) and the database writer cannot rewrite it.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path

from carprivacy.domain.witness import WitnessHead


class FileAuditWitness:
    def __init__(self, path: Path) -> None:
        self.path = path

    def extend(
        self, build: Callable[[WitnessHead | None], WitnessHead | None]
    ) -> WitnessHead | None:
        """Under an exclusive lock of the file: read the last head, append what ``build`` makes."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            head = build(self._last_of(fd))
            if head is not None:
                line = json.dumps(asdict(head), sort_keys=True, separators=(",", ":")) + "\n"
                os.write(fd, line.encode("ascii"))
                os.fsync(fd)
            return head
        finally:
            os.close(fd)  # releases the lock

    @staticmethod
    def _last_of(fd: int) -> WitnessHead | None:
        size = os.fstat(fd).st_size
        if size == 0:
            return None
        tail = b""
        pos = size
        while pos > 0 and tail.count(b"\n") < 2:
            step = min(4096, pos)
            pos -= step
            tail = os.pread(fd, step, pos) + tail
        lines = [line for line in tail.split(b"\n") if line.strip()]
        return WitnessHead(**json.loads(lines[-1])) if lines else None

    def last(self) -> WitnessHead | None:
        if not self.path.exists():
            return None
        fd = os.open(self.path, os.O_RDONLY)
        try:
            return self._last_of(fd)
        finally:
            os.close(fd)

    def heads(self) -> Iterator[WitnessHead]:
        if not self.path.exists():
            return
        with self.path.open("r", encoding="ascii") as f:
            for line in f:
                if line.strip():
                    yield WitnessHead(**json.loads(line))
