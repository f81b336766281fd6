"""Pseudonyms and coarsening for the ``pseudonymised`` form (Art. 4(5), Art. 32(1)(a) GDPR).

A pseudonym is HMAC-SHA256 over the field name and value, under a key that is different for every
recipient: two recipients cannot join their data sets on a pseudonym, and a recipient cannot reverse
one without the key. Recipient keys are derived (HMAC-based, RFC 5869 style expand step) from a
secret passed in; the secret never leaves the process that holds it.

Coarsening truncates timestamps to a period and rounds positions to a number of decimals, as the
purpose's :class:`~carprivacy.domain.policy.Coarsening` says.

Standard library only.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

from carprivacy.domain.policy import Coarsening

PSEUDONYM_PREFIX = "ps_"
_MIN_SECRET = 16


def derive_recipient_key(secret: bytes, recipient_id: str) -> bytes:
    """The 32-byte pseudonym key of one recipient, derived from ``secret``."""
    if len(secret) < _MIN_SECRET:
        raise ValueError(f"pseudonym secret must have at least {_MIN_SECRET} bytes")
    info = b"carprivacy/pseudonym/v1/" + recipient_id.encode("utf-8")
    return hmac.new(secret, info + b"\x01", hashlib.sha256).digest()


class Pseudonymiser:
    """Pseudonyms for one recipient; the key is derived once."""

    __slots__ = ("recipient_id", "_key")

    def __init__(self, secret: bytes, recipient_id: str) -> None:
        self.recipient_id = recipient_id
        self._key = derive_recipient_key(secret, recipient_id)

    def pseudonym(self, field: str, value: object) -> str:
        """A stable pseudonym of ``value`` in ``field`` (the field name separates namespaces)."""
        msg = field.encode("utf-8") + b"\x00" + str(value).encode("utf-8")
        return PSEUDONYM_PREFIX + hmac.new(self._key, msg, hashlib.sha256).hexdigest()[:32]


def coarsen_time(value: datetime, coarsening: Coarsening) -> datetime:
    """Truncate ``value`` to a multiple of ``coarsening.time_seconds`` since the epoch (UTC)."""
    step = coarsening.time_seconds
    if step <= 0:
        return value
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    ts = int(aware.timestamp())
    return datetime.fromtimestamp(ts - ts % step, tz=UTC)


def coarsen_position(value: float, coarsening: Coarsening) -> float:
    """Round a latitude or longitude to ``coarsening.position_decimals`` decimals."""
    if coarsening.position_decimals is None:
        return value
    return round(float(value), coarsening.position_decimals)
