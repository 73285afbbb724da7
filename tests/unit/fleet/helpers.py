"""Builders for fixes and settings shared by the fleet rule tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from contracts.telemetry import Telemetry
from rules.fleet.config import FleetSettings

# Monday 2025-11-24 10:00:00 UTC (11:00 in Berlin)
T0 = int(datetime(2025, 11, 24, 10, 0, tzinfo=UTC).timestamp() * 1000)
LAT, LON = 52.52, 13.40
M_PER_DEG_LAT = 111_195.08  # metres per degree of latitude on the mean-radius sphere


def ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def fix(t_s: float = 0, speed: float = 0.0, lat: float = LAT, lon: float = LON, vid: str = "v1", **kw: Any) -> Telemetry:
    """A fix ``t_s`` seconds after T0."""
    return Telemetry(vehicle_id=vid, ts_ms=T0 + int(t_s * 1000), lat=lat, lon=lon, speed_kmh=speed, **kw)


def north(metres: float) -> float:
    """Latitude ``metres`` north of LAT."""
    return LAT + metres / M_PER_DEG_LAT


def cfg(**overrides: Any) -> FleetSettings:
    return FleetSettings(**overrides)
