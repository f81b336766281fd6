"""Parsing one MQTT telemetry message: records, or a named reason to quarantine."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carprivacy.adapters.mqtt.message import ParsedMessage, TopicPattern, parse_message
from carprivacy.adapters.mqtt.worker import MqttWorkerConfig
from carprivacy.domain.errors import Problem

PATTERN = TopicPattern.parse("vehicles/+/telemetry")
VIN = "WMW11111111000001"
TOPIC = f"vehicles/{VIN}/telemetry"
REC = {"signal": "Vehicle.Speed", "value": 42.0, "ts": "2026-11-25T08:00:00+00:00"}


def parse(payload: bytes, topic: str = TOPIC, pattern: TopicPattern = PATTERN) -> object:
    return parse_message(topic, payload, pattern, max_bytes=10_000)


def test_an_array_of_records_gets_the_topic_vin() -> None:
    parsed = parse(json.dumps([REC, REC]).encode())
    assert isinstance(parsed, ParsedMessage)
    assert parsed.vin == VIN
    assert [r["vin"] for r in parsed.records] == [VIN, VIN]
    assert parsed.records[0]["value"] == 42.0


def test_one_object_is_one_record() -> None:
    parsed = parse(json.dumps(REC).encode())
    assert isinstance(parsed, ParsedMessage) and len(parsed.records) == 1


@pytest.mark.parametrize(
    ("payload", "topic", "rule", "path"),
    [
        (b"[{", TOPIC, "json", "payload"),
        (b"\xc3\x28", TOPIC, "encoding", "payload"),
        (b"42", TOPIC, "shape", "payload"),
        (b"[]", TOPIC, "shape", "payload"),
        (b'[{"signal": "x"}, 3]', TOPIC, "shape", "records[1]"),
        (b'[{"value": NaN}]', TOPIC, "json", "payload"),
        (
            json.dumps([dict(REC, vin="WMW11111111000002")]).encode(),
            TOPIC,
            "vin_mismatch",
            "records[0].vin",
        ),
        (json.dumps([REC]).encode(), "vehicles/bad-vin!/telemetry", "vin", "topic"),
        (json.dumps([REC]).encode(), "vehicles", "vin", "topic"),
        (b"[" + b" " * 20_000 + b"]", TOPIC, "size", "payload"),
    ],
)
def test_malformed_messages_name_path_and_rule(
    payload: bytes, topic: str, rule: str, path: str
) -> None:
    problem = parse(payload, topic)
    assert isinstance(problem, Problem)
    assert (problem.rule, problem.path) == (rule, path)


def test_the_problem_never_repeats_payload_content() -> None:
    problem = parse(b'[{"signal": "secret-street 12"')
    assert isinstance(problem, Problem)
    assert "secret" not in str(problem) and "line 1" in problem.message


def test_a_filter_without_vin_level_needs_the_vin_in_each_record() -> None:
    pattern = TopicPattern.parse("fleet/telemetry")
    assert pattern.vin_level is None
    ok = parse(json.dumps([dict(REC, vin=VIN)]).encode(), "fleet/telemetry", pattern)
    assert isinstance(ok, ParsedMessage) and ok.records[0]["vin"] == VIN
    missing = parse(json.dumps([REC]).encode(), "fleet/telemetry", pattern)
    assert isinstance(missing, Problem) and missing.rule == "required"


def test_shared_subscription_filter() -> None:
    assert PATTERN.subscription("ingest") == "$share/ingest/vehicles/+/telemetry"
    assert PATTERN.subscription(None) == "vehicles/+/telemetry"
    with pytest.raises(ValueError, match="group"):
        PATTERN.subscription("a/b")


@pytest.mark.parametrize("bad", ["", "a//b", "a/#/b", "a/b#", "a/x+/c", "$share/g/a/+"])
def test_bad_topic_filters_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="topic"):
        TopicPattern.parse(bad)


@given(st.binary(max_size=300), st.text(max_size=40))
def test_any_payload_and_topic_give_records_or_a_problem_never_an_exception(
    payload: bytes, level: str
) -> None:
    result = parse(payload, f"vehicles/{level}/telemetry")
    assert isinstance(result, ParsedMessage | Problem)


@given(
    st.lists(
        st.fixed_dictionaries(
            {"signal": st.text(max_size=20), "value": st.integers() | st.booleans()},
        ),
        min_size=1,
        max_size=20,
    )
)
def test_well_formed_arrays_keep_every_record_in_order(records: list[dict[str, object]]) -> None:
    parsed = parse(json.dumps(records).encode())
    assert isinstance(parsed, ParsedMessage)
    assert [{k: v for k, v in r.items() if k != "vin"} for r in parsed.records] == records


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"batch_size": 0}, "batch_size"),
        ({"batch_ms": 0}, "batch_ms"),
        ({"client_id": ""}, "client_id"),
        ({"tls_cert": "c.pem"}, "tls_cert"),
        ({"password": "x"}, "password"),
        ({"inflight": 0}, "inflight"),
        ({"inflight": 70_000}, "inflight"),
        ({"session_expiry_s": 0}, "session_expiry_s"),  # the queue would end at every disconnect
        ({"session_expiry_s": 2**32}, "session_expiry_s"),
        ({"keepalive_s": 1}, "keepalive_s"),
        ({"keepalive_s": 70_000}, "keepalive_s"),
    ],
)
def test_worker_config_names_the_bad_field(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        MqttWorkerConfig(**overrides)  # type: ignore[arg-type]


def test_receive_window_is_wide_by_default_so_bursts_are_not_dropped_by_the_broker() -> None:
    assert MqttWorkerConfig().receive_maximum == 65_535
    assert MqttWorkerConfig(inflight=100).receive_maximum == 100
