"""One MQTT telemetry message: topic + payload -> wire records, or the reason it is malformed (I1).

The agreed wire format: topic ``vehicles/{VIN}/telemetry``, payload a JSON array of
records or one record object ``{"signal", "value", "ts"}``. The VIN comes from the topic, so a
vehicle can only speak for itself (the broker's ACL binds the topic to the vehicle's credential); a
record naming another VIN contradicts its transport and makes the whole message malformed. A
VIN is 17 capital letters and digits without I, O and Q (ISO 3779): a topic level or record ``vin``
that is not one is malformed (rule ``vin``); a well-formed VIN of no registered vehicle is refused
record by record by ingestion (``known_vehicle``).

Problems name the rule and where, never the payload's values (they may be personal data).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from carprivacy.domain.errors import Problem
from carprivacy.domain.master import VIN_PATTERN

NOT_A_VIN = "not a VIN: 17 capital letters and digits, no I, O or Q"


def is_vin(value: object) -> bool:
    return isinstance(value, str) and VIN_PATTERN.fullmatch(value) is not None


@dataclass(frozen=True)
class TopicPattern:
    """A subscription filter and the level of it that names the vehicle (its first ``+``)."""

    filter: str
    vin_level: int | None

    @classmethod
    def parse(cls, topic_filter: str) -> TopicPattern:
        levels = topic_filter.split("/")
        if not topic_filter or any(not level for level in levels):
            raise ValueError("topic: [syntax] a topic filter has non-empty levels")
        if "#" in levels[:-1] or any("#" in lv and lv != "#" for lv in levels):
            raise ValueError("topic: [syntax] '#' may only be the whole last level")
        if any("+" in lv and lv != "+" for lv in levels):
            raise ValueError("topic: [syntax] '+' must be a whole level")
        if levels[0] == "$share":
            raise ValueError("topic: [syntax] give the group with --group, not a $share/ filter")
        vin_level = levels.index("+") if "+" in levels else None
        return cls(filter=topic_filter, vin_level=vin_level)

    def subscription(self, group: str | None) -> str:
        """The filter to subscribe to: shared (``$share/<group>/...``) when a group is given."""
        if group is None:
            return self.filter
        if not group or any(ch in group for ch in "/+#"):
            raise ValueError("group: [syntax] a share group name has no '/', '+' or '#'")
        return f"$share/{group}/{self.filter}"

    def vin_of(self, topic: str) -> str | None:
        if self.vin_level is None:
            return None
        levels = topic.split("/")
        if self.vin_level >= len(levels):
            return None
        return levels[self.vin_level]


@dataclass(frozen=True)
class ParsedMessage:
    vin: str | None
    records: list[dict[str, Any]]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_message(
    topic: str, payload: bytes, pattern: TopicPattern, *, max_bytes: int
) -> ParsedMessage | Problem:
    """Wire records of one message (``vin`` set from the topic), or why it is malformed."""
    vin = pattern.vin_of(topic)
    if pattern.vin_level is not None and not is_vin(vin):
        return Problem("topic", "vin", f"the VIN level is missing or {NOT_A_VIN}")
    if len(payload) > max_bytes:
        return Problem("payload", "size", f"the message is larger than {max_bytes} bytes")
    if not payload.strip():
        return Problem("payload", "empty", "the message is empty (no bytes or only whitespace)")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Problem("payload", "encoding", f"not UTF-8 (byte {exc.start})")
    try:
        body = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        return Problem("payload", "json", f"malformed JSON at line {exc.lineno} column {exc.colno}")
    except (ValueError, RecursionError):
        return Problem("payload", "json", "not valid JSON (NaN/Infinity or nesting too deep)")
    items = [body] if isinstance(body, dict) else body
    if not isinstance(items, list):
        return Problem("payload", "shape", "expected a JSON array of records or one record object")
    if not items:
        return Problem("payload", "shape", "the message holds no records")
    records: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            return Problem(f"records[{index}]", "shape", "a record is a JSON object")
        named = item.get("vin")
        if vin is not None:
            if named is not None and not is_vin(named):
                return Problem(f"records[{index}].vin", "vin", NOT_A_VIN)
            if named is not None and named != vin:
                return Problem(
                    f"records[{index}].vin", "vin_mismatch", "differs from the topic VIN"
                )
            record = dict(item)
            record["vin"] = vin
        elif not isinstance(named, str) or not named:
            return Problem(
                f"records[{index}].vin", "required", "neither topic nor record names a VIN"
            )
        elif not is_vin(named):
            return Problem(f"records[{index}].vin", "vin", NOT_A_VIN)
        else:
            record = dict(item)
        records.append(record)
    return ParsedMessage(vin=vin, records=records)
