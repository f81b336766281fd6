"""An in-memory :class:`~carprivacy.services.ports.operations.MasterKeyRotation`: re-wraps the
data keys of an in-memory key store under a new key id, reporting progress as the real one does,
and refuses as it does when a rotation cannot go on."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from carprivacy.domain.errors import MasterKeyRotationError
from carprivacy.services.ports.operations import RotationOutcome


@dataclass
class FakeMasterKeyRotation:
    """``wrapped`` maps data-key ids to the master key id they are wrapped under."""

    key_file: Path = Path("master.key")
    wrapped: dict[str, str] = field(default_factory=dict)
    fail_after: int | None = None  # stop (stopped=True) after this many keys: a crash mid-way

    def __call__(
        self,
        *,
        new_key_file: Path | None = None,
        progress: Callable[[int, int], None] = lambda done, total: None,
        waiting: Callable[[], None] = lambda: None,
    ) -> RotationOutcome:
        new_id = secrets.token_hex(4)
        if new_key_file is not None and new_key_file == self.key_file:
            raise MasterKeyRotationError("the new key file is the key file", stopped=False)
        total = len(self.wrapped)
        for done, key in enumerate(sorted(self.wrapped), start=1):
            if self.fail_after is not None and done > self.fail_after:
                raise MasterKeyRotationError("the rotation stopped part-way", stopped=True)
            self.wrapped[key] = new_id
            progress(done, total)
        target = new_key_file or self.key_file
        return RotationOutcome(new_id, total, target, new_key_file is not None)
