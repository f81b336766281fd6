"""A vehicle's released values shaped for a page: series per signal for the charts, a table per
day, the latest value per signal. Presentation only: what is shown is what the gate released."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

MILEAGE = "Vehicle.TraveledDistance"
VOLTAGE = "Vehicle.LowVoltageBattery.CurrentVoltage"
SERVICE_KM = "Vehicle.Service.DistanceToService"
SERVICE_S = "Vehicle.Service.TimeToService"
CHARGE = "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current"
LATITUDE = "Vehicle.CurrentLocation.Latitude"
LONGITUDE = "Vehicle.CurrentLocation.Longitude"
SIGNALS = (MILEAGE, VOLTAGE, SERVICE_KM, SERVICE_S, CHARGE, LATITUDE, LONGITUDE)
DAY_S = 86_400


@dataclass
class DayRow:
    day: date
    mileage_km: float | None = None
    driven_km: float | None = None
    voltage_min: float | None = None
    voltage_max: float | None = None
    service_km: float | None = None


@dataclass
class VehicleData:
    series: dict[str, list[tuple[datetime, float]]] = field(default_factory=dict)
    trips: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    latest: dict[str, tuple[datetime, object, str]] = field(default_factory=dict)
    days: list[DayRow] = field(default_factory=list)
    count: int = 0

    def points(self, signal: str, scale: float = 1.0) -> list[tuple[datetime, float]]:
        return [(t, v * scale) for t, v in self.series.get(signal, [])]


def _time(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def shape(values: Iterable[dict[str, object]]) -> VehicleData:
    """``values``: released telemetry items (``ts``, ``signal``, ``value``, ``unit``) in time
    order."""
    data = VehicleData()
    positions: dict[datetime, dict[str, float]] = defaultdict(dict)
    for item in values:
        ts, signal, value = _time(item.get("ts")), str(item.get("signal")), item.get("value")
        if ts is None:
            continue
        data.count += 1
        data.latest[signal] = (ts, value, str(item.get("unit") or ""))
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if signal in (LATITUDE, LONGITUDE):
            positions[ts][signal] = float(value)
        else:
            data.series.setdefault(signal, []).append((ts, float(value)))
    for ts in sorted(positions):
        point = positions[ts]
        if LATITUDE in point and LONGITUDE in point:
            data.trips.setdefault(ts.date().isoformat(), []).append(
                (point[LONGITUDE], point[LATITUDE])
            )
    data.days = _days(data)
    return data


def _days(data: VehicleData) -> list[DayRow]:
    rows: dict[date, DayRow] = {}

    def row(ts: datetime) -> DayRow:
        return rows.setdefault(ts.date(), DayRow(ts.date()))

    first: dict[date, float] = {}
    for ts, metres in data.series.get(MILEAGE, []):
        r = row(ts)
        first.setdefault(ts.date(), metres)
        r.mileage_km = metres / 1000
        r.driven_km = (metres - first[ts.date()]) / 1000
    for ts, volts in data.series.get(VOLTAGE, []):
        r = row(ts)
        r.voltage_min = volts if r.voltage_min is None else min(r.voltage_min, volts)
        r.voltage_max = volts if r.voltage_max is None else max(r.voltage_max, volts)
    for ts, km in data.series.get(SERVICE_KM, []):
        row(ts).service_km = km
    return [rows[d] for d in sorted(rows)]
