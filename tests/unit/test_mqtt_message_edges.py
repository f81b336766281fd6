"""MQTT message edge cases (SPEC I1): a topic or record
VIN that is not a VIN, an empty message."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carprivacy.adapters.mqtt.message import ParsedMessage, TopicPattern, parse_message
from carprivacy.domain.errors import Problem

PATTERN = TopicPattern.parse("vehicles/+/telemetry")
VIN = "WMW11111111000001"
REC = {"signal": "Vehicle.Speed", "value": 42.0, "ts": "2026-11-25T08:00:00+00:00"}
VIN_ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


def parse(payload: bytes, topic: str, pattern: TopicPattern = PATTERN) -> ParsedMessage | Problem:
    return parse_message(topic, payload, pattern, max_bytes=10_000)


@pytest.mark.parametrize(
    "level",
    [
        "NOTAVIN",
        "wmw11111111000001",  # lower case
        "WMW1111111100000",  # 16 characters
        "WMW111111110000011",  # 18 characters
        "WMWI1111111000001",  # I
        "WMWO1111111000001",  # O
        "WMWQ1111111000001",  # Q
    ],
)
def test_a_topic_level_that_is_not_a_vin_is_a_topic_problem(level: str) -> None:
    problem = parse(json.dumps([REC]).encode(), f"vehicles/{level}/telemetry")
    assert isinstance(problem, Problem)
    assert (problem.path, problem.rule) == ("topic", "vin")
    assert level not in problem.message and "17" in problem.message


@given(st.text(alphabet=VIN_ALPHABET, min_size=17, max_size=17))
def test_every_well_formed_vin_level_is_a_vehicle(vin: str) -> None:
    """Known or not: an unknown VIN is ingestion's ``known_vehicle``, not a topic problem."""
    parsed = parse(json.dumps([REC]).encode(), f"vehicles/{vin}/telemetry")
    assert isinstance(parsed, ParsedMessage) and parsed.records[0]["vin"] == vin


@given(st.text(max_size=20).filter(lambda t: "/" not in t))
def test_a_level_outside_the_vin_syntax_is_never_a_vehicle(level: str) -> None:
    parsed = parse(json.dumps([REC]).encode(), f"vehicles/{level}/telemetry")
    assert isinstance(parsed, Problem) and parsed.rule == "vin"


@pytest.mark.parametrize("pattern", [PATTERN, TopicPattern.parse("fleet/telemetry")])
def test_a_record_vin_that_is_not_a_vin_names_the_rule(pattern: TopicPattern) -> None:
    topic = "vehicles/WMW11111111000001/telemetry" if pattern is PATTERN else "fleet/telemetry"
    problem = parse(
        json.dumps([dict(REC, vin=VIN), dict(REC, vin="NOTAVIN")]).encode(), topic, pattern
    )
    assert isinstance(problem, Problem)
    assert (problem.path, problem.rule) == ("records[1].vin", "vin")
    assert "NOTAVIN" not in problem.message


@pytest.mark.parametrize("payload", [b"", b" ", b"\n\t\r\n "])
def test_an_empty_message_is_reported_as_empty(payload: bytes) -> None:
    problem = parse(payload, f"vehicles/{VIN}/telemetry")
    assert isinstance(problem, Problem)
    assert (problem.path, problem.rule) == ("payload", "empty")
    assert "JSON" not in problem.message and "empty" in problem.message
