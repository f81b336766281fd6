"""The signal catalogue against COVESA VSS 6.0 and the policy (SPEC P2, I1)."""

from __future__ import annotations

import csv
import math
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carprivacy.adapters.catalogue import load_catalogue
from carprivacy.adapters.policy.loader import load_policy_file
from carprivacy.config import default_policy_path
from carprivacy.domain.errors import PolicyError
from carprivacy.domain.signals.catalogue import (
    PRIVATE_BRANCH,
    Signal,
    SignalType,
    catalogue_from_mapping,
)
from carprivacy.domain.signals.validation import check_value, validate_record

with (Path(__file__).parents[1] / "data" / "vss-6.0.csv").open(encoding="utf-8") as _f:
    VSS = {row["Signal"]: row for row in csv.DictReader(_f)}
CATALOGUE = load_catalogue()
POLICY = load_policy_file(default_policy_path())
NOW = datetime(2026, 1, 1, tzinfo=UTC)
SKEW = timedelta(minutes=5)


@pytest.mark.parametrize("signal", [s for s in CATALOGUE.signals if s.vss], ids=lambda s: s.name)
def test_vss_signals_agree_with_vss(signal: Signal):
    row = VSS.get(signal.name)
    assert row is not None, f"{signal.name} is not a VSS 6.0 signal"
    assert row["Type"] in ("sensor", "attribute", "actuator")
    assert row["DataType"] == signal.type.value
    assert (row["Unit"] or None) == signal.unit
    if row["Min"]:
        assert signal.min is not None and signal.min >= float(row["Min"])
    if row["Max"]:
        assert signal.max is not None and signal.max <= float(row["Max"])
    if row["Allowed"] and signal.allowed:
        assert set(signal.allowed) <= set(eval(row["Allowed"]))  # noqa: S307 - a list literal


def test_private_signals_live_on_the_private_branch_and_say_why():
    private = [s for s in CATALOGUE.signals if not s.vss]
    assert private
    for s in private:
        assert s.name.startswith(PRIVATE_BRANCH + ".") and s.name not in VSS and s.why_private


def test_every_signal_the_notice_names_is_in_the_catalogue():
    needed = {
        "Vehicle.TraveledDistance",
        "Vehicle.LowVoltageBattery.CurrentVoltage",
        "Vehicle.Body.Trunk.Rear.IsOpen",
        "Vehicle.Cabin.Door.Row1.DriverSide.IsOpen",
        "Vehicle.CurrentLocation.Latitude",
        "Vehicle.CurrentLocation.Longitude",
        "Vehicle.CurrentLocation.Heading",
        "Vehicle.Speed",
        "Vehicle.Service.DistanceToService",
        "Vehicle.Service.TimeToService",
        "Vehicle.Powertrain.CombustionEngine.EngineOil.Level",
        "Vehicle.Chassis.Axle.Row1.Wheel.Left.Brake.PadWear",
        "Vehicle.Exterior.AirTemperature",
        "Private.CarPrivacy.Environment.Precipitation",
        "Private.CarPrivacy.Traffic.EventType",
        "Private.CarPrivacy.Sensor.VoiceCommand",
        "Private.CarPrivacy.UserProfile.MusicProvider",
        "Private.CarPrivacy.OBFCM.FuelConsumedLifetime",
    }
    assert needed <= {s.name for s in CATALOGUE.signals}
    wanted = {
        "vehicle_status", "position_movement", "maintenance_service", "traffic_info",
        "environment", "user_profile", "sensor", "vehicle_general", "obfcm",
    }  # fmt: skip
    assert CATALOGUE.categories == wanted


def test_every_category_is_one_the_policy_declares():
    CATALOGUE.check_categories(POLICY.categories_by_id)
    with pytest.raises(PolicyError) as err:
        CATALOGUE.check_categories({"vehicle_status"})
    assert all(p.rule == "known_category" for p in err.value.problems)


def test_a_broken_catalogue_lists_every_problem():
    with pytest.raises(PolicyError) as err:
        catalogue_from_mapping(
            {
                "signals": [
                    {"name": "Vehicle.Speed", "type": "float", "category": "x"},
                    {"name": "Vehicle.Speed", "type": "float", "category": "x"},
                    {"name": "Vehicle.A", "type": "quaternion", "category": "x"},
                    {"name": "Private.CarPrivacy.B", "type": "float", "category": "x"},
                    {"name": "Vehicle.C", "type": "float"},
                ]
            }
        )
    assert [(p.path, p.rule) for p in err.value.problems] == [
        ("signals[1].name", "unique"),
        ("signals[2].type", "enum"),
        ("signals[3].name", "private_branch"),
        ("signals[4].category", "required"),
    ]


UINT8 = Signal("T.U8", SignalType.UINT8, "c", min=0, max=100)
FLOAT = Signal("T.F", SignalType.FLOAT, "c", min=-10, max=10)


@given(st.integers(-1000, 1000))
def test_integer_range_is_enforced(value: int):
    out, problems = check_value(UINT8, value, "v")
    assert (not problems) == (0 <= value <= 100)
    if not problems:
        assert out == value


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_float_range_and_finiteness(value: float):
    _, problems = check_value(FLOAT, value, "v")
    assert (not problems) == (math.isfinite(value) and -10 <= value <= 10)


@given(st.one_of(st.text(), st.booleans(), st.none(), st.lists(st.integers())))
def test_non_numbers_are_refused_for_numeric_signals(value: object):
    _, problems = check_value(FLOAT, value, "v")
    assert problems and problems[0].rule == "type"


def test_whole_floats_are_integers_and_fractions_are_not():
    assert check_value(UINT8, 5.0, "v") == (5, [])
    assert check_value(UINT8, 5.5, "v")[1][0].rule == "type"
    assert check_value(UINT8, True, "v")[1][0].rule == "type"


@given(st.dictionaries(st.text(max_size=8), st.one_of(st.text(max_size=8), st.integers())))
def test_validation_never_raises_and_names_the_record(record: dict[str, object]):
    ok, problems = validate_record(
        CATALOGUE, record, 7, transport_vin=None, now=NOW, max_future_skew=SKEW
    )
    assert (ok is None) == bool(problems)
    assert all(p.path.startswith("records[7]") for p in problems)


def test_timestamps_need_a_timezone_and_not_too_far_ahead():
    base = {"vin": "WMW11111111111111", "signal": "Vehicle.Speed", "value": 1.0}
    for ts, rule in (
        ("2026-01-01T00:00:00", "iso8601_tz"),
        ("not a time", "iso8601_tz"),
        ((NOW + timedelta(minutes=6)).isoformat(), "future"),
    ):
        _, problems = validate_record(
            CATALOGUE, {**base, "ts": ts}, 0, transport_vin=None, now=NOW, max_future_skew=SKEW
        )
        assert [p.rule for p in problems] == [rule]
    ok, _ = validate_record(
        CATALOGUE,
        {**base, "ts": "2026-01-01T00:04:59Z"},
        0,
        transport_vin=None,
        now=NOW,
        max_future_skew=SKEW,
    )
    assert ok is not None and ok.ts == datetime(2026, 1, 1, 0, 4, 59, tzinfo=UTC)


NAMES = [s.name for s in CATALOGUE.signals] + ["Vehicle.Nope", 7]
VALUES = st.one_of(
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.sampled_from(["NORMAL", "LOW", "JAM"]),
    st.none(),
)
TIMES = st.one_of(
    st.datetimes(
        min_value=datetime(2025, 12, 31),
        max_value=datetime(2026, 1, 1, 0, 10),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=2)), timezone(-timedelta(hours=5))]
        ),
    ).map(datetime.isoformat),
    st.just("2026-01-01T00:00:00"),
    st.text(max_size=6),
)


@given(
    st.fixed_dictionaries(
        {"signal": st.sampled_from(NAMES), "value": VALUES, "ts": TIMES},
        optional={
            "vin": st.sampled_from(["WMW11111111111111", "WMW22222222222222", 5]),
            "x": st.just(1),
        },
    ),
    st.sampled_from([None, "WMW11111111111111"]),
)
def test_the_fast_path_agrees_with_the_full_check(record: dict[str, object], transport: str | None):
    from carprivacy.domain.signals.validation import _full_check, _well_formed

    fast = _well_formed(CATALOGUE, record, 3, transport, NOW + SKEW)
    full, problems = _full_check(CATALOGUE, record, 3, transport, NOW, SKEW)
    if fast is not None:
        assert not problems and full == fast


def test_the_fast_path_takes_the_common_records():
    from carprivacy.domain.signals.validation import _well_formed

    for record in (
        {"signal": "Vehicle.Speed", "value": 50.5, "ts": "2026-01-01T00:00:00+00:00"},
        {"signal": "Vehicle.TraveledDistance", "value": 12, "ts": "2026-01-01T01:00:00+02:00"},
        {"signal": "Vehicle.Body.Hood.IsOpen", "value": False, "ts": "2025-12-31T23:00:00Z"},
    ):
        assert _well_formed(CATALOGUE, record, 0, "WMW11111111111111", NOW + SKEW) is not None


ENCODED_VALUES = st.one_of(
    VALUES,
    st.integers(-(2**70), 2**70),
    st.floats(-1e9, 1e9),
    st.sampled_from([0, 1, 255, 256, -1, 1.0, 0.5, "", "JAM", "NORMAL", [1], {"a": 1}]),
    st.text(min_size=195, max_size=205),
)


@given(st.sampled_from(CATALOGUE.signals), ENCODED_VALUES)
def test_compiled_value_check_agrees_with_check_value_and_stored_text(signal: Signal, value):
    """The per-record path stores ``value_encoder``'s text: only for values ``check_value``
    accepts, and exactly what ``encode_value`` stores for them."""
    from carprivacy.domain.signals.encoding import value_encoder
    from carprivacy.domain.telemetry import encode_value

    text = value_encoder(signal)(value)
    checked, problems = check_value(signal, value, "v")
    if text is not None:
        assert not problems and text == encode_value(checked)
    elif not problems:  # look closer: only whole floats of integer signals take that path
        assert signal.type.is_integer and type(value) is float


def test_huge_integers_are_a_range_error_not_a_crash():
    speed = CATALOGUE.get("Vehicle.Speed")
    assert speed is not None
    assert check_value(speed, 10**400, "v")[1][0].rule == "range"
