"""Encoding of signal values for storage (SPEC I1, I2): :func:`value_encoder` compiles, per
signal, the check of a value in its common form that gives the JSON text stored for it (the same
text ``domain.telemetry.encode_value`` gives for what ``validation.check_value`` returns).

Standard library only.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

from carprivacy.domain.signals.catalogue import Signal, SignalType

ValueEncoder = Callable[[object], str | None]
_MAX_FINITE = sys.float_info.max
_json_text = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def value_encoder(signal: Signal) -> ValueEncoder:
    """A compiled check of ``signal``'s values for the per-record path: it returns the value's
    stored JSON text (what ``encode_value`` gives for what ``check_value`` returns) when the value
    is valid in its common form, else None ("look closer": ``check_value`` then names the problem;
    a property test holds the two together). Never raises, whatever the value."""
    stype = signal.type
    if stype is SignalType.BOOLEAN:

        def boolean(value: object) -> str | None:
            return "true" if value is True else "false" if value is False else None

        return boolean
    if stype is SignalType.STRING:
        limit = signal.max_length
        if signal.allowed:
            texts = {a: _json_text(a) for a in signal.allowed if len(a) <= limit}

            def choice(value: object) -> str | None:
                return texts.get(value) if type(value) is str else None

            return choice

        def free_text(value: object) -> str | None:
            if type(value) is str and len(value) <= limit:
                return _json_text(value)
            return None

        return free_text
    lo: float = -_MAX_FINITE if signal.min is None else signal.min
    hi: float = _MAX_FINITE if signal.max is None else signal.max
    if stype.is_integer:
        type_lo, type_hi = stype.integer_bounds
        ilo, ihi = max(lo, type_lo), min(hi, type_hi)

        def integer(value: object) -> str | None:
            # floats (even whole ones) take the full check, which stores them as int
            if type(value) is int and ilo <= value <= ihi:
                return str(value)
            return None

        return integer

    def number(value: object) -> str | None:
        kind = type(value)
        if kind is float:
            # NaN fails both comparisons; infinities lie outside the finite bounds
            return repr(value) if lo <= value <= hi else None  # type: ignore[operator]
        if kind is int and lo <= value <= hi:  # type: ignore[operator]
            return repr(float(value))  # type: ignore[arg-type]  # stored as a float (check_value)
        return None

    return number
