"""Simulated OBD devices: N vehicles driving routes around a city, as the contract says.

Each vehicle drives from waypoint to waypoint with city speeds, stops now and then,
burns fuel, heats its engine and counts kilometres; now and then (about once in
``ALARM_EVERY_S`` of driving) its device reports an ``alarm`` (door, low device battery,
tamper, sos), drawn from a generator of its own so the drive is the same with or without them. ``VehicleSim.step`` is pure given its
random generator (seeded: the same seed gives the same drive); ``publish`` sends the fixes
over MQTT at QoS 1. See docs/simulators.md.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

EARTH_RADIUS_M = 6_371_000.0
# Berlin, roughly inside the ring
CENTER = (52.52, 13.405)
SPAN_DEG = (0.06, 0.10)
ALARM_EVERY_S = 4 * 3600.0  # mean seconds between two device alarms of one vehicle
ALARMS = ("door", "door", "door", "low_device_battery", "tamper", "sos")


def offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    """Move a position by metres north and east (small distances)."""
    dlat = math.degrees(north_m / EARTH_RADIUS_M)
    dlon = math.degrees(east_m / (EARTH_RADIUS_M * math.cos(math.radians(lat))))
    return lat + dlat, lon + dlon


def bearing_and_distance(lat1: float, lon1: float, lat2: float, lon2: float) -> tuple[float, float]:
    """Heading (degrees from north) and distance (m) between two close points."""
    north = math.radians(lat2 - lat1) * EARTH_RADIUS_M
    east = math.radians(lon2 - lon1) * EARTH_RADIUS_M * math.cos(math.radians(lat1))
    return (math.degrees(math.atan2(east, north)) + 360) % 360, math.hypot(north, east)


@dataclass
class VehicleSim:
    """One simulated vehicle; ``step`` advances it and returns the telemetry payload."""

    vehicle_id: str
    rng: random.Random
    lat: float = CENTER[0]
    lon: float = CENTER[1]
    speed_kmh: float = 0.0
    target_kmh: float = 40.0
    heading_deg: float = 0.0
    fuel_pct: float = 80.0
    coolant_c: float = 20.0
    odometer_km: float = 10_000.0
    engine_hours: float = 500.0
    oil_life_pct: float = 70.0
    stop_left_s: float = 0.0
    waypoint: tuple[float, float] = field(default=CENTER)
    alarm_rng: random.Random | None = None  # None: the device never reports an alarm

    @classmethod
    def create(cls, vehicle_id: str, seed: int) -> VehicleSim:
        rng = random.Random(seed)
        lat = CENTER[0] + rng.uniform(-SPAN_DEG[0], SPAN_DEG[0]) / 2
        lon = CENTER[1] + rng.uniform(-SPAN_DEG[1], SPAN_DEG[1]) / 2
        sim = cls(vehicle_id, rng, lat, lon, odometer_km=rng.uniform(5_000, 150_000),
                  fuel_pct=rng.uniform(30, 95), oil_life_pct=rng.uniform(20, 100), alarm_rng=random.Random(f"alarm:{seed}"))
        sim.waypoint = sim._new_waypoint()
        return sim

    def _new_waypoint(self) -> tuple[float, float]:
        return (CENTER[0] + self.rng.uniform(-SPAN_DEG[0], SPAN_DEG[0]) / 2,
                CENTER[1] + self.rng.uniform(-SPAN_DEG[1], SPAN_DEG[1]) / 2)

    def _drive(self, dt_s: float) -> float:
        """Advance position and speed; returns the longitudinal acceleration (m/s^2)."""
        before = self.speed_kmh
        if self.stop_left_s > 0:
            self.stop_left_s -= dt_s
            self.speed_kmh = max(0.0, self.speed_kmh - 15 * dt_s)
        else:
            if self.rng.random() < 0.01 * dt_s:  # traffic light or parking, now and then
                self.stop_left_s = self.rng.uniform(10, 60)
            if self.rng.random() < 0.05 * dt_s:
                self.target_kmh = self.rng.choice((30, 40, 50, 50, 60, 70))
            step = max(-10.0, min(6.0, self.target_kmh - self.speed_kmh)) * dt_s
            self.speed_kmh = max(0.0, self.speed_kmh + step + self.rng.gauss(0, 0.5))
        self.heading_deg, dist = bearing_and_distance(self.lat, self.lon, *self.waypoint)
        if dist < 50:
            self.waypoint = self._new_waypoint()
        moved_m = self.speed_kmh / 3.6 * dt_s
        rad = math.radians(self.heading_deg)
        self.lat, self.lon = offset(self.lat, self.lon, moved_m * math.cos(rad), moved_m * math.sin(rad))
        self.odometer_km += moved_m / 1000
        self.fuel_pct = max(0.0, self.fuel_pct - moved_m / 1000 * 0.012)
        return (self.speed_kmh - before) / 3.6 / dt_s if dt_s > 0 else 0.0

    def step(self, dt_s: float, ts_ms: int) -> dict[str, Any]:
        """Advance ``dt_s`` seconds and return the payload a device would publish at ``ts_ms``."""
        accel = self._drive(dt_s)
        self.engine_hours += dt_s / 3600
        self.coolant_c = min(95.0, self.coolant_c + 0.5 * dt_s) + self.rng.gauss(0, 0.3)
        self.oil_life_pct = max(0.0, self.oil_life_pct - dt_s / 3600 * 0.01)
        moving = self.speed_kmh > 1
        alarm = None
        if self.alarm_rng is not None and self.alarm_rng.random() < dt_s / ALARM_EVERY_S:
            alarm = self.alarm_rng.choice(ALARMS)
        doc = {
            "vehicle_id": self.vehicle_id,
            "ts": datetime.fromtimestamp(ts_ms / 1000, tz=UTC).isoformat(timespec="milliseconds"),
            "lat": round(self.lat, 6),
            "lon": round(self.lon, 6),
            "speed_kmh": round(self.speed_kmh, 1),
            "heading_deg": round(self.heading_deg, 1),
            "ignition": True,
            "rpm": round(800 + self.speed_kmh * 35 + self.rng.gauss(0, 40)) if moving else round(750 + self.rng.gauss(0, 20)),
            "engine_load_pct": round(min(100.0, 15 + self.speed_kmh * 0.6 + max(0.0, accel) * 10), 1),
            "coolant_temp_c": round(self.coolant_c, 1),
            "fuel_level_pct": round(self.fuel_pct, 2),
            "battery_v": round(14.1 + self.rng.gauss(0, 0.1), 2),
            "odometer_km": round(self.odometer_km, 3),
            "engine_hours": round(self.engine_hours, 4),
            "oil_life_pct": round(self.oil_life_pct, 2),
            "tire_pressure_kpa": {w: round(230 + self.rng.gauss(0, 2), 1) for w in ("fl", "fr", "rl", "rr")},
            "accel_ms2": {"x": round(accel, 2), "y": round(self.rng.gauss(0, 0.3), 2), "z": 9.81},
            "dtc": [],
        }
        if alarm is not None:
            doc["alarm"] = alarm
        return doc


def fleet(n: int, seed: int = 1, prefix: str = "veh") -> list[VehicleSim]:
    """``n`` vehicles with ids ``<prefix>-0001`` ... and independent seeded drives."""
    return fleet_of_ids([f"{prefix}-{i:04d}" for i in range(1, n + 1)], seed)


def fleet_of_ids(ids: list[str], seed: int = 1) -> list[VehicleSim]:
    """One simulated vehicle per id (e.g. every vehicle of the registry file)."""
    return [VehicleSim.create(vid, seed * 100_003 + i) for i, vid in enumerate(ids, start=1)]
