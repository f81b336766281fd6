"""Call quotas of the CarData customer API (SPEC C2): per client id and per account, each a
number of calls in a window, counted in the shared store (every API process counts in one
place, as password logins are throttled). The published API allows 50 calls a day per user;
ours is configurable and by default far above it. A call over either limit is refused with
``RateLimitedError`` (429, ``Retry-After``); an allowed call is told how many calls remain."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta

from carprivacy.domain.cardata import QuotaState
from carprivacy.domain.errors import RateLimitedError
from carprivacy.services.cardata.ports import CallCounter
from carprivacy.services.ports.clock import Clock


@dataclass(frozen=True)
class QuotaSettings:
    per_client: int = 10_000
    per_account: int = 20_000
    window: timedelta = timedelta(days=1)


class CallQuota:
    def __init__(
        self, counter: CallCounter, key: bytes, clock: Clock, settings: QuotaSettings | None = None
    ) -> None:
        self.counter = counter
        self.clock = clock
        self.settings = settings or QuotaSettings()
        self._key = key

    def charge(self, client_id: str, gcid: str) -> QuotaState:
        """Count one call of the client and of the account; the tighter of the two states
        (fewest calls remaining). Over either limit: RateLimitedError until its window ends."""
        s = self.settings
        now = self.clock()
        keys = (self._hash("client", client_id), self._hash("account", gcid))
        counted = self.counter.count_call(keys, now - s.window, now)
        states = [
            QuotaState(limit, used, opened + s.window)
            for limit, (used, opened) in zip((s.per_client, s.per_account), counted, strict=True)
        ]
        over = [q for q in states if q.exceeded]
        if over:
            worst = max(over, key=lambda q: q.resets_at)
            raise RateLimitedError(
                f"more than {worst.limit} calls in the window: retry later",
                worst.retry_after(now),
                worst.limit,
            )
        return min(states, key=lambda q: q.remaining)

    def _hash(self, kind: str, ident: str) -> str:
        return hmac.new(
            self._key, f"cardata-calls\0{kind}\0{ident}".encode(), hashlib.sha256
        ).hexdigest()
