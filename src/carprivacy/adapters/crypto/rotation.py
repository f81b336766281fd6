"""Online master-key rotation (SPEC I3): ``carprivacy keys rotate-master``.

Safe while ``serve`` and ``ingest`` run (docs/adr/master-key-rotation.md). Each step can be
interrupted; running the rotation again finishes it with the same new key:

1. the new key is written to ``<key file>.next`` (mode 0600): every process that loads the ring
   from now on can unwrap keys under it and wraps new data keys with it;
2. the old key id is retired in the database: the store refuses new data keys wrapped by it, so a
   process that still holds only the old ring reloads it (finding ``.next``) and wraps again;
3. passes re-wrap every live data key under the new key, a page at a time, each key only if it is
   still under the id read (compare-and-set), until no live key is under any other id, the last
   check counted after every data key creation in progress has committed;
4. ``.next`` replaces the key file, once it is checked to hold this rotation's key.

Rotations are serialised twice, both held for the whole rotation and released if the process
dies: an ``flock`` on ``<key file>.lock`` (``<new key file>.lock`` with an environment key), and
the database's rotation lock (``DataKeyRepository.rotation_lock``: a PostgreSQL advisory lock, or
a lock file beside the SQLite file), which also serialises rotations with other key files or on
other hosts. The ring is loaded only once both are held, and a rotation whose ring lacks a key id
that live data keys are wrapped by (another rotation ran with another key) stops with
``UnknownMasterKeyError`` before it writes or retires anything. A second rotation waits, then
rotates again.

With ``CARPRIVACY_MASTER_KEY`` from the environment there is no file to share: the new key goes to
``new_key_file`` and the operator switches the variable and restarts the processes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from carprivacy.adapters.crypto.envelope import (
    REWRAP_CHUNK,
    DataKeyRepository,
    rewrap_all,
)
from carprivacy.adapters.crypto.master_key import (
    MasterKeyRing,
    decode_key,
    encode_key,
    key_id,
    load_master_key,
    new_master_key,
    next_key_file,
)
from carprivacy.adapters.keyfile import create_private, exclusive_lock, move_private, read_private
from carprivacy.config import Settings
from carprivacy.domain.errors import RotationError, UnknownMasterKeyError

MAX_PASSES = 20


@dataclass(frozen=True)
class Rotation:
    new_id: str
    rewrapped: int  # data keys moved to the new key, over all passes
    passes: int
    key_file: Path  # where the new key is now: the key file, or new_key_file (environment key)
    from_environment: bool


def lock_file(path: Path) -> Path:
    """The lock that serialises rotations of the key in ``path``."""
    return path.with_name(path.name + ".lock")


def rotate_master_key(
    keys: DataKeyRepository,
    settings: Settings,
    *,
    new_key_file: Path | None = None,
    progress: Callable[[int, int], None] = lambda done, total: None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    waiting: Callable[[], None] = lambda: None,
    chunk_size: int = REWRAP_CHUNK,
) -> Rotation:
    """Rotate, holding the rotation locks throughout; ``waiting`` is called (once) if another
    rotation holds one (this one then waits for it to end)."""
    if settings.master_key is None:
        locked = settings.resolved_master_key_file
    elif new_key_file is not None:
        locked = new_key_file
    else:
        raise RotationError("new_key_file: required when the master key comes from the environment")
    once = _Once(waiting)
    with exclusive_lock(lock_file(locked), once), keys.rotation_lock(once):
        ring = load_master_key(settings)  # only now: no other rotation changes the files
        target = next_key_file(ring.file) if ring.file is not None else new_key_file
        assert target is not None
        waiting_key = _waiting_key(ring, target)
        if waiting_key is not None and key_id(waiting_key) in keys.retired_master_keys():
            ident = key_id(waiting_key)
            raise RotationError(f"{target.name}: master key {ident} is retired; it cannot return")
        _check_known(keys, ring, waiting_key)
        new = waiting_key if waiting_key is not None else _create_key(target)
        new_id = key_id(new)
        if ring.current_id != new_id:
            keys.retire_master_key(ring.current_id, clock())  # step 2: no new keys under it
        full = MasterKeyRing(ring.current, (*ring.others, new), ring.file)
        moved = passes = 0
        while True:  # step 3
            passes += 1
            moved += rewrap_all(keys, full, new, new_id, progress, chunk_size)
            if keys.live_not_under(new_id) == 0:
                break
            if passes == MAX_PASSES:
                raise RotationError(f"data_keys: still under another key after {passes} passes")
        if ring.file is None:
            return Rotation(new_id, moved, passes, target, True)
        _install(target, ring.file, new)  # step 4
        return Rotation(new_id, moved, passes, ring.file, False)


class _Once:
    """Calls ``action`` the first time only (both locks may make a rotation wait)."""

    def __init__(self, action: Callable[[], None]) -> None:
        self._action, self._done = action, False

    def __call__(self) -> None:
        if not self._done:
            self._done = True
            self._action()


def _waiting_key(ring: MasterKeyRing, target: Path) -> bytes | None:
    """The new key of an interrupted rotation (``.next``, or ``new_key_file``), if any."""
    if ring.others:
        return ring.newest
    if ring.file is None and target.exists():  # environment key: a run that was interrupted
        waiting = _read_key(target)
        if waiting == ring.current:
            raise RotationError("new_key_file: holds the current master key; give a new path")
        return waiting
    return None


def _check_known(keys: DataKeyRepository, ring: MasterKeyRing, waiting: bytes | None) -> None:
    """Refuse to start when live data keys are under an id this ring lacks: another rotation
    (another key file, host or ``--new-key-file``) has moved them; rotating now would leave
    them unreadable here and wrap new keys under a key the other side lacks."""
    known = {key_id(k) for k in (ring.current, *ring.others, *([waiting] if waiting else []))}
    strangers = sorted(keys.live_master_key_ids() - known)
    if strangers:
        raise UnknownMasterKeyError(
            f"live data keys wrapped by master key {strangers[0]}, not in this ring", strangers[0]
        )


def _create_key(target: Path) -> bytes:
    new = new_master_key()
    if not create_private(target, encode_key(new)):  # written by something not holding the lock
        raise RotationError(f"{target.name}: appeared during the rotation; run it again")
    return new


def _install(waiting: Path, key_file: Path, new: bytes) -> None:
    """Step 4: move ``waiting`` onto ``key_file``, only if it holds this rotation's key."""
    try:
        found = _read_key(waiting)
    except FileNotFoundError:
        if _read_key(key_file) == new:
            return  # already installed
        raise RotationError(f"{waiting.name}: missing, the key file is left as it is") from None
    if found != new:
        raise RotationError(
            f"{waiting.name}: holds master key {key_id(found)}, not {key_id(new)} of this "
            "rotation; the key file is left as it is"
        )
    move_private(waiting, key_file)


def _read_key(path: Path) -> bytes:
    return decode_key(read_private(path))
