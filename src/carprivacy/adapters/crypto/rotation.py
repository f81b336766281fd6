"""Online master-key rotation (issue 3 item 5; SPEC I3): ``carprivacy keys rotate-master``.

Safe while ``serve`` and ``ingest`` run (docs/adr/master-key-rotation.md). Each step can be
interrupted; running the rotation again finishes it with the same new key:

1. the new key is written to ``<key file>.next`` (mode 0600): every process that loads the ring
   from now on can unwrap keys under it and wraps new data keys with it;
2. the old key id is retired in the database: the store refuses new data keys wrapped by it, so a
   process that still holds only the old ring reloads it (finding ``.next``) and wraps again;
3. passes re-wrap every live data key under the new key until none is left under a retired id,
   the last check counted after every data key creation in progress has committed;
4. ``.next`` replaces the key file.

With ``CARPRIVACY_MASTER_KEY`` from the environment there is no file to share: the new key goes to
``new_key_file`` and the operator switches the variable and restarts the processes.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from carprivacy.adapters.crypto.envelope import DataKeyRepository, rewrap_all
from carprivacy.adapters.crypto.master_key import (
    MasterKeyRing,
    decode_key,
    key_id,
    load_master_key,
    new_master_key,
    next_key_file,
    write_key_file,
)
from carprivacy.adapters.keyfile import create_private, read_private
from carprivacy.config import Settings

MAX_PASSES = 20


class RotationError(RuntimeError):
    """The rotation cannot go on (the rule is in the message)."""


@dataclass(frozen=True)
class Rotation:
    new_id: str
    rewrapped: int  # data keys moved to the new key, over all passes
    passes: int
    key_file: Path  # where the new key is now: the key file, or new_key_file (environment key)
    from_environment: bool


def rotate_master_key(
    keys: DataKeyRepository,
    settings: Settings,
    *,
    new_key_file: Path | None = None,
    progress: Callable[[int, int], None] = lambda done, total: None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Rotation:
    ring = load_master_key(settings)
    if ring.file is None and new_key_file is None:
        raise RotationError("new_key_file: required when the master key comes from the environment")
    target = next_key_file(ring.file) if ring.file is not None else new_key_file
    assert target is not None
    new = _new_key(ring, target)
    new_id = key_id(new)
    if ring.current_id != new_id:
        keys.retire_master_key(ring.current_id, clock())  # step 2: no new keys under it
    retired = keys.retired_master_keys() - {new_id}
    full = MasterKeyRing(ring.current, (*ring.others, new), ring.file)
    moved = passes = 0
    while True:  # step 3
        passes += 1
        moved += rewrap_all(keys, full, new, new_id, progress)
        if keys.live_under(retired) == 0:
            break
        if passes == MAX_PASSES:
            raise RotationError(f"data_keys: still under a retired key after {passes} passes")
    if ring.file is not None:  # step 4
        try:
            os.replace(target, ring.file)
        except FileNotFoundError:  # a rotation run at the same time moved it first
            if _read_key(ring.file) != new:
                raise
        return Rotation(new_id, moved, passes, ring.file, False)
    return Rotation(new_id, moved, passes, target, True)


def _new_key(ring: MasterKeyRing, target: Path) -> bytes:
    """The waiting key of an interrupted rotation, else a fresh one written to ``target``."""
    if ring.others:
        return ring.newest
    if ring.file is None and target.exists():  # environment key: a run that was interrupted
        waiting = _read_key(target)
        if waiting == ring.current:
            raise RotationError("new_key_file: holds the current master key; give a new path")
        return waiting
    new = new_master_key()
    if ring.file is None:
        write_key_file(target, new)
        return new
    if create_private(target, base64.urlsafe_b64encode(new) + b"\n"):
        return new
    return _read_key(target)  # another rotation started meanwhile: join it


def _read_key(path: Path) -> bytes:
    return decode_key(read_private(path))
