"""The signal catalogue (SPEC I1, P2) and pure validation of telemetry records.

A :class:`SignalCatalogue` holds the vehicle signals carprivacy accepts: their COVESA VSS name, VSS
datatype, unit, accepted range or allowed values and the policy data category they belong to.
:func:`validate_record` checks one wire record (``{"vin", "signal", "value", "ts"}``) and returns
every :class:`Problem` at once; problems name the record index, the field and the rule, never the
value (no personal data in errors).

Standard library only; the catalogue file is read by ``carprivacy.adapters.catalogue``.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, NamedTuple

from carprivacy.domain.errors import PolicyError, Problem
from carprivacy.domain.master import VIN_PATTERN

PRIVATE_BRANCH = "Private.CarPrivacy"
RECORD_FIELDS = frozenset({"vin", "signal", "value", "ts"})
# (rule, message) of a record ``vin`` that is not a VIN (ISO 3779)
NOT_A_VIN = ("vin", "must be a VIN: 17 capital letters and digits, no I, O or Q")


class SignalType(StrEnum):
    """VSS datatypes the catalogue uses."""

    BOOLEAN = "boolean"
    STRING = "string"
    UINT8 = "uint8"
    UINT16 = "uint16"
    UINT32 = "uint32"
    INT8 = "int8"
    INT16 = "int16"
    INT32 = "int32"
    FLOAT = "float"
    DOUBLE = "double"

    @property
    def is_integer(self) -> bool:
        return self.value.startswith(("int", "uint"))

    @property
    def is_numeric(self) -> bool:
        return self.is_integer or self in (SignalType.FLOAT, SignalType.DOUBLE)

    @property
    def integer_bounds(self) -> tuple[int, int]:
        bits = int(self.value.lstrip("uint"))
        if self.value.startswith("u"):
            return 0, 2**bits - 1
        return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


@dataclass(frozen=True)
class Signal:
    name: str
    type: SignalType
    category: str
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    allowed: tuple[str, ...] = ()
    max_length: int = 200
    vss: bool = True
    why_private: str | None = None

    def __post_init__(self) -> None:
        # precomputed for the per-record path
        lo, hi = self.type.integer_bounds if self.type.is_integer else (0, 0)
        object.__setattr__(self, "_int_bounds", (lo, hi) if self.type.is_integer else None)


@dataclass(frozen=True)
class SignalCatalogue:
    signals: tuple[Signal, ...]
    vss_release: str = "6.0"

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {s.name: s for s in self.signals})
        object.__setattr__(self, "_encoders", {s.name: value_encoder(s) for s in self.signals})

    def get(self, name: str) -> Signal | None:
        by_name: dict[str, Signal] = self._by_name  # type: ignore[attr-defined]
        return by_name.get(name)

    def encoder(self, name: str) -> ValueEncoder:
        """The compiled check of ``name``'s values (see :func:`value_encoder`)."""
        encoders: dict[str, ValueEncoder] = self._encoders  # type: ignore[attr-defined]
        return encoders[name]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    @property
    def categories(self) -> frozenset[str]:
        return frozenset(s.category for s in self.signals)

    def check_categories(self, known: Iterable[str]) -> None:
        """Start-up check: every signal's category is one the policy declares."""
        known_set = frozenset(known)
        problems = [
            Problem(
                f"signals[{i}].category",
                "known_category",
                f"signal {s.name} names category {s.category!r} that the policy does not declare",
            )
            for i, s in enumerate(self.signals)
            if s.category not in known_set
        ]
        if problems:
            raise PolicyError(problems)


def catalogue_from_mapping(data: Mapping[str, Any]) -> SignalCatalogue:
    """Build a catalogue from the parsed YAML document, reporting every problem at once."""
    problems: list[Problem] = []
    raw = data.get("signals") if isinstance(data, Mapping) else None
    if not isinstance(raw, list) or not raw:
        raise PolicyError([Problem("signals", "required", "must be a non-empty list")])
    signals: list[Signal] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        path = f"signals[{i}]"
        if not isinstance(item, Mapping):
            problems.append(Problem(path, "type", "must be a mapping"))
            continue
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            problems.append(Problem(f"{path}.name", "required", "must be a signal name"))
            continue
        if name in seen:
            problems.append(Problem(f"{path}.name", "unique", f"{name} is listed twice"))
        seen.add(name)
        try:
            stype = SignalType(str(item.get("type")))
        except ValueError:
            problems.append(Problem(f"{path}.type", "enum", "must be a VSS datatype"))
            continue
        vss = bool(item.get("vss", True))
        if vss == name.startswith(PRIVATE_BRANCH + "."):
            problems.append(
                Problem(
                    f"{path}.name",
                    "private_branch",
                    f"non-VSS signals (vss: false) and only they live under {PRIVATE_BRANCH}",
                )
            )
        category = item.get("category")
        if not isinstance(category, str) or not category:
            problems.append(Problem(f"{path}.category", "required", "must name a data category"))
            continue
        lo, hi = item.get("min"), item.get("max")
        for key, bound in (("min", lo), ("max", hi)):
            if bound is not None and (
                isinstance(bound, bool) or not isinstance(bound, int | float)
            ):
                problems.append(Problem(f"{path}.{key}", "type", "must be a number"))
        allowed = item.get("allowed") or ()
        signals.append(
            Signal(
                name=name,
                type=stype,
                category=category,
                unit=item.get("unit"),
                min=float(lo) if isinstance(lo, int | float) else None,
                max=float(hi) if isinstance(hi, int | float) else None,
                allowed=tuple(str(a) for a in allowed),
                max_length=int(item.get("max_length", 200)),
                vss=vss,
                why_private=item.get("why_private"),
            )
        )
    if problems:
        raise PolicyError(problems)
    return SignalCatalogue(tuple(signals), str(data.get("vss_release", "6.0")))


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
