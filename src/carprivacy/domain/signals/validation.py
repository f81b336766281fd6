"""Parsing and validation of telemetry records (SPEC I1): :func:`validate_record` checks one wire
record (``{"vin", "signal", "value", "ts"}``) against the catalogue and returns every
:class:`Problem` at once; problems name the record index, the field and the rule, never the value
(no personal data in errors). Timestamps are read by :func:`parse_timestamp` (ISO 8601 with a
timezone, normalised to UTC).

Standard library only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from carprivacy.domain.errors import Problem
from carprivacy.domain.master import VIN_PATTERN
from carprivacy.domain.signals.catalogue import Signal, SignalCatalogue, SignalType

RECORD_FIELDS = frozenset({"vin", "signal", "value", "ts"})
# (rule, message) of a record ``vin`` that is not a VIN (ISO 3779)
NOT_A_VIN = ("vin", "must be a VIN: 17 capital letters and digits, no I, O or Q")


class ValidRecord(NamedTuple):
    """A record that passed validation: the signal it names, the parsed value and its time (UTC)."""

    position: int  # the record's index in its batch
    vin: str
    signal: Signal
    value: bool | int | float | str
    ts: datetime


def parse_timestamp(raw: object) -> datetime | None:
    """ISO 8601 with a timezone (``Z`` accepted), normalised to an aware datetime; else None."""
    if not isinstance(raw, str) or len(raw) > 40:
        return None
    try:
        ts = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if ts.tzinfo is UTC:
        return ts
    if ts.tzinfo is None or ts.utcoffset() is None:
        return None
    return ts.astimezone(UTC)


def timestamp_until(raw: str, latest: datetime) -> datetime | None:
    """``raw`` as :func:`parse_timestamp` reads it, when that is not after ``latest``; else None
    (the full check then says which rule it breaks)."""
    if len(raw) > 40:
        return None
    try:
        ts = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if ts.tzinfo is not UTC:
        if ts.tzinfo is None or ts.utcoffset() is None:
            return None
        ts = ts.astimezone(UTC)
    return None if ts > latest else ts


def check_value(signal: Signal, value: object, path: str) -> tuple[Any, list[Problem]]:
    """The value as stored (ints for integer types, floats for float types) and the problems it
    has against ``signal``."""
    stype = signal.type
    if stype is SignalType.BOOLEAN:
        if not isinstance(value, bool):
            return None, [Problem(path, "type", f"{signal.name} takes a boolean")]
        return value, []
    if stype is SignalType.STRING:
        if not isinstance(value, str):
            return None, [Problem(path, "type", f"{signal.name} takes a string")]
        if signal.allowed and value not in signal.allowed:
            return None, [
                Problem(path, "allowed", f"{signal.name} takes one of {', '.join(signal.allowed)}")
            ]
        if len(value) > signal.max_length:
            return None, [Problem(path, "max_length", f"at most {signal.max_length} characters")]
        return value, []
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None, [Problem(path, "type", f"{signal.name} takes a number")]
    number: int | float = value
    bounds: tuple[int, int] | None = signal._int_bounds  # type: ignore[attr-defined]
    if bounds is not None:
        if isinstance(value, float):
            if not value.is_integer():
                return None, [Problem(path, "type", f"{signal.name} takes a whole number")]
            number = int(value)
        lo, hi = bounds
        if not lo <= number <= hi:
            lo = max(lo, int(signal.min)) if signal.min is not None else lo
            hi = min(hi, int(signal.max)) if signal.max is not None else hi
            return None, [
                Problem(
                    path, "range", f"{signal.name} takes [{lo}, {hi}] {signal.unit or ''}".rstrip()
                )
            ]
    elif isinstance(number, float) and not math.isfinite(number):  # ints are finite (any size)
        return None, [Problem(path, "finite", "must be a finite number")]
    if (signal.min is not None and number < signal.min) or (
        signal.max is not None and number > signal.max
    ):
        return None, [
            Problem(
                path,
                "range",
                f"{signal.name} takes {_range_text(signal)} {signal.unit or ''}".rstrip(),
            )
        ]
    if bounds is None and isinstance(number, int):
        # a float signal stores floats: 13 and 13.0 are one value (a record resent by another
        # JSON writer is a duplicate, not a conflict)
        try:
            number = float(number)
        except OverflowError:
            return None, [Problem(path, "finite", "must be a finite number")]
    return number, []


def _range_text(signal: Signal) -> str:
    lo = "-inf" if signal.min is None else f"{signal.min:g}"
    hi = "inf" if signal.max is None else f"{signal.max:g}"
    return f"[{lo}, {hi}]"


def validate_record(
    catalogue: SignalCatalogue,
    record: object,
    index: int,
    *,
    transport_vin: str | None,
    now: datetime,
    max_future_skew: timedelta,
) -> tuple[ValidRecord | None, list[Problem]]:
    """Check one wire record. ``transport_vin``: the VIN the transport names (MQTT topic,
    HTTP credential); a record VIN that differs from it is refused."""
    fast = _well_formed(catalogue, record, index, transport_vin, now + max_future_skew)
    if fast is not None:
        return fast, []
    return _full_check(catalogue, record, index, transport_vin, now, max_future_skew)


def _full_check(
    catalogue: SignalCatalogue,
    record: object,
    index: int,
    transport_vin: str | None,
    now: datetime,
    max_future_skew: timedelta,
) -> tuple[ValidRecord | None, list[Problem]]:
    base = f"records[{index}]"
    if not isinstance(record, Mapping):
        return None, [Problem(base, "type", "a record is a JSON object")]
    problems: list[Problem] = []
    vin = record.get("vin")
    if vin is None:
        vin = transport_vin
        if vin is None:
            problems.append(Problem(f"{base}.vin", "required", "the vehicle is not named"))
    elif not isinstance(vin, str):
        problems.append(Problem(f"{base}.vin", "type", "must be a string"))
    elif not VIN_PATTERN.fullmatch(vin):
        problems.append(Problem(f"{base}.vin", *NOT_A_VIN))
    elif transport_vin is not None and vin != transport_vin:
        problems.append(
            Problem(f"{base}.vin", "vin_mismatch", "differs from the authenticated vehicle")
        )
    signal_name = record.get("signal")
    signal = catalogue.get(signal_name) if isinstance(signal_name, str) else None
    if not isinstance(signal_name, str):
        problems.append(Problem(f"{base}.signal", "required", "must be a VSS signal name"))
    elif signal is None:
        problems.append(Problem(f"{base}.signal", "known_signal", "not in the signal catalogue"))
    value: Any = None
    if record.get("value") is None:  # absent or JSON null
        problems.append(Problem(f"{base}.value", "required", "a value is required"))
    elif signal is not None:
        value, value_problems = check_value(signal, record["value"], f"{base}.value")
        problems.extend(value_problems)
    raw_ts = record.get("ts")
    ts = parse_timestamp(raw_ts)
    if raw_ts is None:
        problems.append(Problem(f"{base}.ts", "required", "a timestamp is required"))
    elif ts is None:
        problems.append(Problem(f"{base}.ts", "iso8601_tz", "must be ISO 8601 with a timezone"))
    elif ts - now > max_future_skew:
        problems.append(
            Problem(
                f"{base}.ts",
                "future",
                f"more than {int(max_future_skew.total_seconds())} s in the future",
            )
        )
    if not RECORD_FIELDS.issuperset(record):
        # the sender's field names are not repeated: a name can itself be personal data
        unknown = len(set(record) - RECORD_FIELDS)
        problems.append(
            Problem(
                base,
                "unknown_fields",
                f"{unknown} unexpected field(s); a record has only vin, signal, value and ts",
            )
        )
    if problems or signal is None or ts is None or not isinstance(vin, str):
        return None, problems
    return ValidRecord(index, vin, signal, value, ts), []


def _well_formed(
    catalogue: SignalCatalogue,
    record: object,
    index: int,
    transport_vin: str | None,
    latest: datetime,
) -> ValidRecord | None:
    """The common case, checked cheaply: a valid record in its common form. None means "look
    closer" (the full check above then names every problem); it never accepts what the full
    check refuses (a property test holds the two together)."""
    if type(record) is not dict or not RECORD_FIELDS.issuperset(record):
        return None
    name = record.get("signal")
    if type(name) is not str:
        return None
    signal = catalogue.get(name)
    if signal is None:
        return None
    vin = record.get("vin", transport_vin)
    if type(vin) is not str or (transport_vin is not None and vin != transport_vin):
        return None
    raw_ts = record.get("ts")
    if type(raw_ts) is not str:
        return None
    ts = timestamp_until(raw_ts, latest)
    if ts is None:
        return None
    value: Any = record.get("value")
    if catalogue.encoder(name)(value) is None:
        return None
    return ValidRecord(index, vin, signal, value, ts)
