"""The fleet simulator: plausible, deterministic, valid for the catalogue."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from carprivacy.config import PACKAGE_DIR
from carprivacy.domain.signals.catalogue import SignalCatalogue, catalogue_from_mapping
from carprivacy.domain.signals.validation import validate_record
from carprivacy.services.demo.simulation import NL_BOUNDS, FleetSimulator, demo_vins, haversine_m

START = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)


@cache
def catalogue() -> SignalCatalogue:
    text = (PACKAGE_DIR / "data" / "signals.yaml").read_text(encoding="utf-8")
    return catalogue_from_mapping(yaml.safe_load(text))


def run(
    seed: int, vehicles: int, minutes: float, interval: float = 10.0
) -> list[tuple[str, list[dict[str, Any]]]]:
    sim = FleetSimulator(
        demo_vins(vehicles, seed=seed), catalogue(), start=START, seed=seed, interval_s=interval
    )
    return list(sim.messages(minutes))


def by_signal(
    messages: list[tuple[str, list[dict[str, Any]]]], signal: str
) -> dict[str, list[Any]]:
    series: dict[str, list[Any]] = defaultdict(list)
    for vin, records in messages:
        for r in records:
            if r["signal"] == signal:
                series[vin].append((r["ts"], r["value"]))
    return {vin: [v for _, v in sorted(values)] for vin, values in series.items()}


fleet = given(
    seed=st.integers(min_value=0, max_value=2**32),
    vehicles=st.integers(min_value=1, max_value=4),
    minutes=st.integers(min_value=1, max_value=60),
    interval=st.sampled_from([2.0, 5.0, 10.0, 30.0]),
)


@fleet
@settings(max_examples=25, deadline=None)
def test_every_record_passes_the_catalogue_validation(
    seed: int, vehicles: int, minutes: int, interval: float
) -> None:
    cat = catalogue()
    now = START + timedelta(minutes=minutes)
    for vin, records in run(seed, vehicles, minutes, interval):
        for index, record in enumerate(records):
            valid, problems = validate_record(
                cat, record, index, transport_vin=vin, now=now, max_future_skew=timedelta(0)
            )
            assert problems == [], (record["signal"], problems)
            assert valid is not None and valid.vin == vin


@fleet
@settings(max_examples=25, deadline=None)
def test_mileage_never_decreases_and_grows_with_the_distance_driven(
    seed: int, vehicles: int, minutes: int, interval: float
) -> None:
    messages = run(seed, vehicles, minutes, interval)
    mileage = by_signal(messages, "Vehicle.TraveledDistance")
    lat = by_signal(messages, "Vehicle.CurrentLocation.Latitude")
    lon = by_signal(messages, "Vehicle.CurrentLocation.Longitude")
    for vin, values in mileage.items():
        assert values == sorted(values), "the odometer never goes back"
        points = list(zip(lat.get(vin, []), lon.get(vin, []), strict=False))
        straight = sum(haversine_m(*a, *b) for a, b in zip(points, points[1:], strict=False))
        # the odometer covers at least the straight-line distance between reported positions
        # (0.5% for the simulator's flat-earth steps against the test's haversine, plus rounding)
        assert values[-1] - values[0] >= straight * 0.995 - 2 * len(points) - 5


@fleet
@settings(max_examples=25, deadline=None)
def test_positions_and_speeds_are_plausible(
    seed: int, vehicles: int, minutes: int, interval: float
) -> None:
    lat_min, lat_max, lon_min, lon_max = NL_BOUNDS
    messages = run(seed, vehicles, minutes, interval)
    for _vin, records in messages:
        values = {r["signal"]: r["value"] for r in records}
        if "Vehicle.CurrentLocation.Latitude" in values:
            assert lat_min <= values["Vehicle.CurrentLocation.Latitude"] <= lat_max
            assert lon_min <= values["Vehicle.CurrentLocation.Longitude"] <= lon_max
        if "Vehicle.Speed" in values:
            assert 0.0 <= values["Vehicle.Speed"] <= 130.0
        if "Vehicle.CurrentLocation.Heading" in values:
            assert 0.0 <= values["Vehicle.CurrentLocation.Heading"] < 360.0
    # no teleporting: between two position reports a vehicle moves at most 130 km/h * time
    for vin, series in _positions(messages).items():
        for (t1, a), (t2, b) in zip(series, series[1:], strict=False):
            seconds = (datetime.fromisoformat(t2) - datetime.fromisoformat(t1)).total_seconds()
            # 0.5% for the simulator's flat-earth steps against the test's haversine
            assert haversine_m(*a, *b) <= (130 / 3.6 * seconds + 1) * 1.005, vin


def _positions(
    messages: list[tuple[str, list[dict[str, Any]]]],
) -> dict[str, list[tuple[str, tuple[float, float]]]]:
    out: dict[str, list[tuple[str, tuple[float, float]]]] = defaultdict(list)
    for vin, records in messages:
        values = {r["signal"]: r["value"] for r in records}
        if "Vehicle.CurrentLocation.Latitude" in values:
            pos = (
                values["Vehicle.CurrentLocation.Latitude"],
                values["Vehicle.CurrentLocation.Longitude"],
            )
            out[vin].append((records[0]["ts"], pos))
    return out


def test_same_seed_same_telemetry_and_another_seed_differs() -> None:
    assert run(7, 3, 20) == run(7, 3, 20)
    assert run(7, 3, 20) != run(8, 3, 20)


def test_an_hour_of_a_fleet_covers_the_notice_section_b_signals() -> None:
    counts = Counter(r["signal"] for _, records in run(3, 20, 60) for r in records)
    for signal in (
        "Vehicle.TraveledDistance",
        "Vehicle.LowVoltageBattery.CurrentVoltage",
        "Vehicle.Cabin.Door.Row1.DriverSide.IsOpen",
        "Vehicle.CurrentLocation.Latitude",
        "Vehicle.Speed",
        "Vehicle.Service.DistanceToService",
        "Vehicle.Service.TimeToService",
        "Vehicle.Chassis.Axle.Row1.Wheel.Left.Brake.PadWear",
        "Vehicle.Exterior.AirTemperature",
        "Private.CarPrivacy.Environment.Precipitation",
        "Private.CarPrivacy.Traffic.EventType",
        "Vehicle.ADAS.ObstacleDetection.Front.Center.Distance",
        "Private.CarPrivacy.OBFCM.DistanceLifetime",
    ):
        assert counts[signal] > 0, signal
    # somebody drives: positions are reported far more often than the slow status signals
    assert counts["Vehicle.Speed"] > counts["Vehicle.LowVoltageBattery.CurrentVoltage"]


def test_only_catalogue_signals_are_emitted() -> None:
    cat = catalogue()
    smaller = SignalCatalogue(tuple(s for s in cat.signals if s.category != "position_movement"))
    sim = FleetSimulator(demo_vins(3), smaller, start=START, seed=1)
    names = {r["signal"] for _, records in sim.messages(30) for r in records}
    assert names and all(name in smaller for name in names)
    assert "Vehicle.Speed" not in names and "Vehicle.CurrentLocation.Latitude" not in names


def test_service_countdowns_decrease_over_time() -> None:
    messages = run(11, 5, 60)
    for series in by_signal(messages, "Vehicle.Service.TimeToService").values():
        assert series == sorted(series, reverse=True) and len(series) >= 50


def test_generated_vins_are_distinct_and_well_formed() -> None:
    vins = demo_vins(500, seed=4)
    assert len(set(vins)) == 500
    assert all(len(v) == 17 and not set(v) & set("IOQ") for v in vins)


def test_start_needs_a_timezone() -> None:
    with pytest.raises(ValueError, match="timezone"):
        FleetSimulator(["X"], catalogue(), start=datetime(2026, 1, 1))
