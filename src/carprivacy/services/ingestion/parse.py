"""Parse (SPEC I1): a wire record read into what the next stages need.

A batch names its source (``http``, ``mqtt``, ``workshop``) and its vehicles (the VIN its
transport authenticated, or the ones its records name). Each catalogue signal is compiled once
per service into an :class:`Entry` (category, sensitivity, collection purposes, the value's
compiled check, the collection gate); a record in its common form (a dict of ``signal``,
``value``, ``ts`` and, without a transport VIN, ``vin``; a known signal and a value valid as
sent) is read by :func:`read_common` with a few dictionary lookups. Anything else goes to the
full check (``validate``), which names every problem.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from carprivacy.domain.collection_gate import CollectionGate, collection_gate
from carprivacy.domain.errors import InvalidInputError, Problem
from carprivacy.domain.policy import Policy, Sensitivity
from carprivacy.domain.signals.catalogue import SignalCatalogue
from carprivacy.domain.signals.encoding import ValueEncoder
from carprivacy.domain.telemetry import Source, collection_purposes

ABSENT = object()  # a record without a value


class Entry(NamedTuple):
    """A catalogue signal compiled for the per-record path."""

    name: str
    category: str
    unit: str | None
    sensitive: bool
    purposes: tuple[str, ...]
    encode: ValueEncoder
    gate: CollectionGate | None = None  # consents decide whether it is collected at all


def compile_entries(policy: Policy, catalogue: SignalCatalogue, *, gated: bool) -> dict[str, Entry]:
    """Every catalogue signal's :class:`Entry`; ``gated``: whether consents are looked up (the
    collection gate of a consent-dependent category is compiled only then)."""
    sensitive: dict[str, bool] = {}
    purposes: dict[str, tuple[str, ...]] = {}
    for category_id in catalogue.categories:
        purposes[category_id] = collection_purposes(policy, category_id)
        sensitive[category_id] = policy.category(category_id).sensitivity is Sensitivity.SENSITIVE
    return {
        s.name: Entry(
            s.name,
            s.category,
            s.unit,
            sensitive[s.category],
            purposes[s.category],
            catalogue.encoder(s.name),
            collection_gate(policy, s.category, purposes[s.category]) if gated else None,
        )
        for s in catalogue.signals
    }


def source_of(source: str) -> str:
    """The batch's source, checked (InvalidInputError otherwise)."""
    try:
        return Source(source).value
    except ValueError:
        raise InvalidInputError(
            [Problem("source", "enum", "must be http, mqtt or workshop")]
        ) from None


def batch_vins(records: Sequence[Mapping[str, Any]], vehicle_vin: str | None) -> set[str]:
    """The VINs a batch's vehicles are looked up by: the transport's, else those records name
    (with a transport VIN, records naming another vehicle are refused)."""
    if vehicle_vin is not None:
        return {vehicle_vin}
    return {
        vin
        for r in records
        if (type(r) is dict or isinstance(r, Mapping)) and type(vin := r.get("vin")) is str
    }


def read_common(
    record: object, vehicle_vin: str | None, entries: Mapping[str, Entry]
) -> tuple[str, str, Entry, str] | None:
    """(VIN, time as sent, entry, stored text of the value) of a record in its common form;
    None: look closer (its time is read with its vehicle, by the attribution)."""
    if type(record) is not dict:
        return None
    size = len(record)
    # 3 fields: signal, value, ts; 4: and a vin (the only other field known)
    vin = record.get("vin") if size == 4 else vehicle_vin if size == 3 else None
    raw_ts = record.get("ts")
    name = record.get("signal")
    entry = entries.get(name) if type(name) is str else None
    if (
        entry is None
        or type(vin) is not str
        or type(raw_ts) is not str
        or (vehicle_vin is not None and vin != vehicle_vin)
    ):
        return None
    text = entry.encode(record.get("value", ABSENT))
    return None if text is None else (vin, raw_ts, entry, text)
