"""The signal catalogue (SPEC I1, P2): the vehicle signals carprivacy accepts, with their COVESA
VSS name, VSS datatype, unit, accepted range or allowed values and the policy data category they
belong to.

Standard library only; the catalogue file is read by ``carprivacy.adapters.catalogue``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from carprivacy.domain.errors import PolicyError, Problem

if TYPE_CHECKING:
    from carprivacy.domain.signals.encoding import ValueEncoder

PRIVATE_BRANCH = "Private.CarPrivacy"


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
        # the encoding builds on this module's types: imported when a catalogue is made
        from carprivacy.domain.signals.encoding import value_encoder

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
