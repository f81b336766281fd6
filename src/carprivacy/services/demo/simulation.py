"""A fleet simulator: realistic telemetry for the demo, tests and benchmarks.

Pure and deterministic: a seed, a start time and a list of VINs give the same records every time; no
clock or I/O. Each vehicle drives trips between Dutch cities along jittered waypoints (urban speeds
near the ends, motorway speeds between, occasional jams), parks in between, and reports what the
notice's section B names: position, heading and speed, a mileage that grows with the distance
driven, battery voltage, doors and trunk, service countdowns (distance and time), oil level, brake
wear, outside temperature and precipitation, occasional traffic and sensor events, and OBFCM
counters.

Only signals the catalogue holds are emitted, and every value is shaped to pass the catalogue's
validation (type, range, allowed values).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from carprivacy.domain.signals.catalogue import SignalCatalogue, SignalType

EARTH_RADIUS_M = 6_371_000.0
MAX_SPEED_KMH = 130.0

# (name, latitude, longitude): the route network, all in the Netherlands.
CITIES: tuple[tuple[str, float, float], ...] = (
    ("Amsterdam", 52.3702, 4.8952),
    ("Rotterdam", 51.9244, 4.4777),
    ("Den Haag", 52.0705, 4.3007),
    ("Rijswijk", 52.0363, 4.3250),
    ("Utrecht", 52.0907, 5.1214),
    ("Eindhoven", 51.4416, 5.4697),
    ("Groningen", 53.2194, 6.5665),
    ("Zwolle", 52.5168, 6.0830),
    ("Arnhem", 51.9851, 5.8987),
    ("Haarlem", 52.3874, 4.6462),
    ("Leiden", 52.1601, 4.4970),
    ("Breda", 51.5719, 4.7683),
)
# A box around the Netherlands: every simulated position lies in it.
NL_BOUNDS = (50.70, 53.60, 3.30, 7.30)  # lat_min, lat_max, lon_min, lon_max

PROVIDERS = {
    "Private.CarPrivacy.UserProfile.NewsProvider": ("NOS", "RTL Nieuws", "NU.nl"),
    "Private.CarPrivacy.UserProfile.EmailProvider": ("Outlook", "Gmail", "Ziggo Mail"),
    "Private.CarPrivacy.UserProfile.MusicProvider": ("Spotify", "Deezer", "Apple Music"),
}
VOICE_COMMANDS = ("navigate home", "call office", "play music", "find parking", "temperature 20")
TRAFFIC_EVENTS = ("JAM", "OBSTACLE", "ROAD_SIGN", "PARKING_PLACE", "ROADWORKS", "SLIPPERY_ROAD")
MODELS = ("MINI Cooper", "MINI Cooper S", "MINI Cooper SE", "MINI Countryman", "MINI Aceman")
COLOURS = (
    "Chili Red",
    "Midnight Black",
    "British Racing Green",
    "Nanuq White",
    "Sunny Side Yellow",
)
DOORS = (
    "Vehicle.Cabin.Door.Row1.DriverSide.IsOpen",
    "Vehicle.Cabin.Door.Row1.PassengerSide.IsOpen",
)
PAD_WEAR = tuple(
    f"Vehicle.Chassis.Axle.Row{r}.Wheel.{s}.Brake.PadWear"
    for r in (1, 2)
    for s in ("Left", "Right")
)


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, a)))


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return math.degrees(math.atan2(y, x)) % 360.0


@dataclass
class VehicleState:
    vin: str
    rng: random.Random
    electric: bool
    lat: float
    lon: float
    city: int
    odometer_m: float
    service_km: float
    service_s: float
    pad_wear: list[float]
    voltage: float = 12.5
    temperature: float = 10.0
    rain_mm_h: float = 0.0
    speed_kmh: float = 0.0
    heading: float = 0.0
    route: list[tuple[float, float]] = field(default_factory=list)
    route_km: float = 0.0
    parked_s: float = 0.0
    jam_s: float = 0.0
    energy: float = 0.0  # lifetime kWh (electric) or litres (combustion)
    doors_open: bool = False
    ticks: int = 0
    model: str = "MINI Cooper"
    colour: str = "Chili Red"


class FleetSimulator:
    """Steps a fleet in fixed intervals; ``messages()`` yields (vin, records) per vehicle, tick."""

    def __init__(
        self,
        vins: Sequence[str],
        catalogue: SignalCatalogue,
        *,
        start: datetime,
        seed: int = 0,
        interval_s: float = 10.0,
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("start: [timezone] the simulation start needs a timezone")
        if interval_s <= 0:
            raise ValueError("interval_s: [range] must be positive")
        self.catalogue = catalogue
        self.start = start
        self.interval_s = interval_s
        self.vehicles = [self._new_vehicle(vin, seed, i) for i, vin in enumerate(vins)]

    def _new_vehicle(self, vin: str, seed: int, index: int) -> VehicleState:
        rng = random.Random(f"{seed}:{index}:{vin}")
        city = rng.randrange(len(CITIES))
        _, lat, lon = CITIES[city]
        return VehicleState(
            vin=vin,
            rng=rng,
            electric=rng.random() < 0.4,
            lat=lat + rng.uniform(-0.01, 0.01),
            lon=lon + rng.uniform(-0.01, 0.01),
            city=city,
            odometer_m=rng.uniform(1_000, 150_000) * 1000,
            service_km=rng.uniform(500, 30_000),
            service_s=rng.uniform(30, 700) * 86_400,
            pad_wear=[rng.uniform(0, 60) for _ in PAD_WEAR],
            temperature=rng.uniform(-2, 24),
            parked_s=rng.uniform(0, 600),
            model=rng.choice(MODELS),
            colour=rng.choice(COLOURS),
        )

    def tick_count(self, minutes: float) -> int:
        return int(minutes * 60 / self.interval_s)

    def ticks(self, minutes: float) -> Iterator[list[tuple[str, list[dict[str, Any]]]]]:
        """Per tick of ``minutes`` of driving: the messages (VIN, wire records) of all vehicles."""
        for tick in range(1, self.tick_count(minutes) + 1):
            at = self.start + timedelta(seconds=tick * self.interval_s)
            batch = [(v.vin, self._step(v, at)) for v in self.vehicles]
            yield [(vin, records) for vin, records in batch if records]

    def messages(self, minutes: float) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        """Every tick of ``minutes`` of driving: one message (VIN, wire records) per vehicle."""
        for tick in self.ticks(minutes):
            yield from tick

    # -- physics -----------------------------------------------------------------------------

    def _plan_trip(self, v: VehicleState) -> None:
        rng = v.rng
        dest = rng.choice([i for i in range(len(CITIES)) if i != v.city])
        _, dlat, dlon = CITIES[dest]
        dlat, dlon = dlat + rng.uniform(-0.01, 0.01), dlon + rng.uniform(-0.01, 0.01)
        legs = rng.randint(2, 5)
        route = []
        for k in range(1, legs):
            f = k / legs
            route.append(
                (
                    v.lat + (dlat - v.lat) * f + rng.uniform(-0.04, 0.04),
                    v.lon + (dlon - v.lon) * f + rng.uniform(-0.04, 0.04),
                )
            )
        route.append((dlat, dlon))
        v.route, v.city = route, dest
        v.route_km = haversine_m(v.lat, v.lon, dlat, dlon) / 1000

    def _advance(self, v: VehicleState, dt: float) -> None:
        rng = v.rng
        remaining_km = haversine_m(v.lat, v.lon, *v.route[-1]) / 1000
        done_km = max(0.0, v.route_km - remaining_km)
        if v.jam_s > 0:
            v.jam_s -= dt
            target = rng.uniform(0, 20)
        elif min(done_km, remaining_km) < 3:
            target = rng.uniform(30, 50)
        else:
            target = rng.uniform(95, MAX_SPEED_KMH)
        if v.jam_s <= 0 and rng.random() < 0.01:
            v.jam_s = rng.uniform(60, 300)
        max_change = 2.5 * 3.6 * dt  # at most 2.5 m/s^2
        v.speed_kmh += max(-max_change, min(max_change, target - v.speed_kmh))
        v.speed_kmh = max(0.0, min(MAX_SPEED_KMH, v.speed_kmh))
        step_m = v.speed_kmh / 3.6 * dt
        while step_m > 0 and v.route:
            nlat, nlon = v.route[0]
            to_next = haversine_m(v.lat, v.lon, nlat, nlon)
            v.heading = bearing_deg(v.lat, v.lon, nlat, nlon)
            if to_next <= step_m:
                v.lat, v.lon = nlat, nlon
                v.route.pop(0)
                v.odometer_m += to_next
                step_m -= to_next
            else:
                f = step_m / to_next
                v.lat += (nlat - v.lat) * f
                v.lon += (nlon - v.lon) * f
                v.odometer_m += step_m
                step_m = 0
        driven_km = v.speed_kmh / 3.6 * dt / 1000
        v.service_km -= driven_km
        v.energy += driven_km * (0.15 if v.electric else 0.055)  # kWh/km or l/km
        v.pad_wear = [min(100.0, w + driven_km * rng.uniform(0, 2e-4)) for w in v.pad_wear]
        if not v.route:
            v.speed_kmh = 0.0
            v.parked_s = rng.uniform(120, 1800)

    # -- one tick ----------------------------------------------------------------------------

    def _step(self, v: VehicleState, at: datetime) -> list[dict[str, Any]]:
        rng, dt = v.rng, self.interval_s
        v.ticks += 1
        v.service_s -= dt
        v.temperature += rng.uniform(-0.05, 0.05)
        v.rain_mm_h = (
            max(0.0, v.rain_mm_h + rng.uniform(-0.4, 0.3)) if rng.random() < 0.3 else v.rain_mm_h
        )
        out: dict[str, Any] = {}
        was_driving = bool(v.route)
        if not was_driving:
            v.parked_s -= dt
            if v.parked_s <= 0:
                self._plan_trip(v)
                v.doors_open = True
                out.update({DOORS[0]: True, "Vehicle.Cabin.Door.Row1.DriverSide.IsLocked": False})
                if rng.random() < 0.3:
                    out[DOORS[1]] = rng.random() < 0.5
                if rng.random() < 0.2:
                    out["Vehicle.Body.Trunk.Rear.IsOpen"] = rng.random() < 0.5
            elif rng.random() < 0.002:
                out["Vehicle.Body.Hood.IsOpen"] = rng.random() < 0.5
        else:
            if v.doors_open:
                v.doors_open = False
                out[DOORS[0]] = False
            self._advance(v, dt)
            out.update(self._movement(v))
            if not v.route:  # arrived and parked
                out.update({DOORS[0]: True, "Vehicle.Cabin.Door.Row1.DriverSide.IsLocked": True})
                if rng.random() < 0.3:
                    out["Private.CarPrivacy.Traffic.FreeParkingPlaces"] = rng.randint(0, 40)
            out.update(self._events(v))
        v.voltage = (
            rng.uniform(13.8, 14.4) if v.route else max(11.8, v.voltage - rng.uniform(0, 0.002))
        )
        if v.ticks % 6 == 1:  # about once a minute
            out.update(self._status(v))
        if v.ticks % 30 == 1:  # about every five minutes
            out.update(self._maintenance(v))
        if v.ticks == 1:
            out["Vehicle.VehicleIdentification.Model"] = v.model
            out["Vehicle.VehicleIdentification.VehicleExteriorColor"] = v.colour
        return self._records(v.vin, at, out)

    def _movement(self, v: VehicleState) -> dict[str, Any]:
        rng = v.rng
        return {
            "Vehicle.CurrentLocation.Latitude": round(v.lat, 6),
            "Vehicle.CurrentLocation.Longitude": round(v.lon, 6),
            "Vehicle.CurrentLocation.Heading": round(v.heading, 1) % 360.0,
            "Vehicle.CurrentLocation.Altitude": round(rng.uniform(-5, 40), 1),
            "Vehicle.Speed": round(v.speed_kmh, 1),
            "Vehicle.TraveledDistance": int(v.odometer_m),
            "Vehicle.Acceleration.Longitudinal": round(rng.gauss(0, 0.6), 2),
            "Vehicle.Acceleration.Lateral": round(rng.gauss(0, 0.4), 2),
        }

    def _events(self, v: VehicleState) -> dict[str, Any]:
        rng = v.rng
        out: dict[str, Any] = {}
        if v.jam_s > 0 and rng.random() < 0.2:
            out["Private.CarPrivacy.Traffic.EventType"] = "JAM"
        elif rng.random() < 0.02:
            out["Private.CarPrivacy.Traffic.EventType"] = rng.choice(TRAFFIC_EVENTS)
        if rng.random() < 0.03:
            out["Private.CarPrivacy.Traffic.SpeedLimitSign"] = rng.choice((30, 50, 80, 100, 130))
        if rng.random() < 0.05:
            out["Vehicle.ADAS.ObstacleDetection.Front.Center.Distance"] = round(
                rng.uniform(2, 150), 1
            )
            out["Private.CarPrivacy.Sensor.RadarObjectCount"] = rng.randint(0, 25)
        if rng.random() < 0.01:
            out["Private.CarPrivacy.Sensor.VoiceCommand"] = rng.choice(VOICE_COMMANDS)
        return out

    def _status(self, v: VehicleState) -> dict[str, Any]:
        rng = v.rng
        out: dict[str, Any] = {
            "Vehicle.LowVoltageBattery.CurrentVoltage": round(v.voltage, 2),
            "Vehicle.Exterior.AirTemperature": round(v.temperature, 1),
            "Private.CarPrivacy.Environment.Precipitation": round(v.rain_mm_h, 1),
            "Vehicle.Body.Raindetection.Intensity": min(100, int(v.rain_mm_h * 10)),
            "Vehicle.Service.DistanceToService": round(v.service_km, 1),
            "Vehicle.Service.TimeToService": int(v.service_s),
            "Vehicle.Service.IsServiceDue": v.service_km < 1000 or v.service_s < 30 * 86_400,
        }
        if not v.route:
            out["Vehicle.Speed"] = 0.0
            out["Vehicle.TraveledDistance"] = int(v.odometer_m)
            out["Vehicle.CurrentLocation.Latitude"] = round(v.lat, 6)
            out["Vehicle.CurrentLocation.Longitude"] = round(v.lon, 6)
            if rng.random() < 0.1:
                out["Vehicle.ADAS.ObstacleDetection.Rear.Center.Distance"] = round(
                    rng.uniform(0.3, 3), 2
                )
                out["Private.CarPrivacy.Sensor.UltrasoundMinDistance"] = round(
                    rng.uniform(0.2, 2.5), 2
                )
            if rng.random() < 0.02:
                out["Private.CarPrivacy.Sensor.InteriorMovement"] = rng.random() < 0.3
        return out

    def _maintenance(self, v: VehicleState) -> dict[str, Any]:
        rng = v.rng
        out: dict[str, Any] = {name: int(w) for name, w in zip(PAD_WEAR, v.pad_wear, strict=True)}
        out["Vehicle.Powertrain.Type"] = "ELECTRIC" if v.electric else "COMBUSTION"
        out["Private.CarPrivacy.OBFCM.DistanceLifetime"] = round(v.odometer_m / 1000, 1)
        if v.electric:
            out["Vehicle.Powertrain.TractionBattery.StateOfCharge.Current"] = round(
                max(5.0, 95.0 - (v.energy % 40) * 2), 1
            )
            out["Vehicle.Powertrain.TractionBattery.AccumulatedConsumedEnergy"] = round(v.energy, 2)
            out["Vehicle.Powertrain.TractionBattery.AccumulatedChargedEnergy"] = round(
                v.energy * 1.1, 2
            )
        else:
            out["Vehicle.Powertrain.CombustionEngine.EngineOil.Level"] = (
                "LOW" if rng.random() < 0.05 else "NORMAL"
            )
            out["Vehicle.Powertrain.FuelSystem.RelativeLevel"] = int(
                max(5.0, 90.0 - v.energy % 40 * 2)
            )
            out["Private.CarPrivacy.OBFCM.FuelConsumedLifetime"] = round(v.energy, 2)
        if rng.random() < 0.1:
            name = rng.choice(sorted(PROVIDERS))
            out[name] = rng.choice(PROVIDERS[name])
        return out

    # -- shaping -----------------------------------------------------------------------------

    def _records(self, vin: str, at: datetime, values: dict[str, Any]) -> list[dict[str, Any]]:
        ts = at.isoformat()
        records = []
        for name, raw in values.items():
            signal = self.catalogue.get(name)
            if signal is None:
                continue  # the catalogue does not accept it: never emit it
            value: Any = raw
            if signal.type.is_numeric and not isinstance(raw, bool):
                lo = signal.min if signal.min is not None else -math.inf
                hi = signal.max if signal.max is not None else math.inf
                value = min(hi, max(lo, raw))
                if signal.type.is_integer:
                    value = int(value)
                elif signal.type in (SignalType.FLOAT, SignalType.DOUBLE):
                    value = float(value)
            records.append({"vin": vin, "signal": name, "value": value, "ts": ts})
        return records


def demo_vins(count: int, *, seed: int = 0) -> list[str]:
    """``count`` distinct, well-formed 17-character VINs (WMI ``WMW``) for generated fleets."""
    rng = random.Random(f"vins:{seed}")
    alphabet = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"  # no I, O, Q (ISO 3779)
    vins: list[str] = []
    seen: set[str] = set()
    while len(vins) < count:
        vin = "WMW" + "".join(rng.choice(alphabet) for _ in range(8)) + f"{len(vins):06d}"
        if vin not in seen:
            seen.add(vin)
            vins.append(vin)
    return vins
