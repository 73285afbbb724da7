"""Per-vehicle 1-minute aggregates, as a pure fold for a Bytewax tumbling window.

``window_start_ms`` floors an event time to its minute. ``fold_minute(acc, fix, segment_m)``
adds one fix; pass ``segment_m`` (distance from the vehicle's previous fix, computed in the
per-vehicle step) so the segment that crosses a minute boundary is not lost; without it the
fold measures between fixes of the same minute only. ``merge`` combines two partial
aggregates (Bytewax ``fold_window`` needs it for session merges).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from contracts.telemetry import Telemetry

from .geo import haversine_m

MINUTE_MS = 60_000


def window_start_ms(ts_ms: int, size_ms: int = MINUTE_MS) -> int:
    return ts_ms - ts_ms % size_ms


@dataclass(frozen=True)
class MinuteStats:
    vehicle_id: str = ""
    samples: int = 0
    speed_sum: float = 0.0
    max_speed_kmh: float = 0.0
    distance_m: float = 0.0
    rpm_sum: float = 0.0
    rpm_samples: int = 0
    max_coolant_c: float | None = None
    last_ts: int = 0
    last_lat: float | None = None
    last_lon: float | None = None
    last_fuel_pct: float | None = None
    last_battery_v: float | None = None

    @property
    def mean_speed_kmh(self) -> float:
        return self.speed_sum / self.samples if self.samples else 0.0

    @property
    def mean_rpm(self) -> float | None:
        return self.rpm_sum / self.rpm_samples if self.rpm_samples else None

    def to_dict(self) -> dict[str, Any]:
        """Fields for the InfluxDB point (sums replaced by means)."""
        d = asdict(self)
        for k in ("speed_sum", "rpm_sum", "rpm_samples"):
            d.pop(k)
        d["mean_speed_kmh"] = round(self.mean_speed_kmh, 2)
        d["mean_rpm"] = None if self.mean_rpm is None else round(self.mean_rpm, 1)
        d["distance_m"] = round(self.distance_m, 1)
        return d


def fold_minute(acc: MinuteStats, fix: Telemetry, segment_m: float | None = None) -> MinuteStats:
    """Add one fix (any order within the window; 'last' values follow the newest event time)."""
    if segment_m is None:
        segment_m = haversine_m(acc.last_lat, acc.last_lon, fix.lat, fix.lon) if acc.last_lat is not None and acc.last_lon is not None else 0.0
    newest = fix.ts_ms >= acc.last_ts
    coolant = acc.max_coolant_c
    if fix.coolant_temp_c is not None:
        coolant = fix.coolant_temp_c if coolant is None else max(coolant, fix.coolant_temp_c)
    return replace(
        acc,
        vehicle_id=fix.vehicle_id,
        samples=acc.samples + 1,
        speed_sum=acc.speed_sum + fix.speed_kmh,
        max_speed_kmh=max(acc.max_speed_kmh, fix.speed_kmh),
        distance_m=acc.distance_m + segment_m,
        rpm_sum=acc.rpm_sum + (fix.rpm or 0.0),
        rpm_samples=acc.rpm_samples + (fix.rpm is not None),
        max_coolant_c=coolant,
        last_ts=max(acc.last_ts, fix.ts_ms),
        last_lat=fix.lat if newest else acc.last_lat,
        last_lon=fix.lon if newest else acc.last_lon,
        last_fuel_pct=fix.fuel_level_pct if newest and fix.fuel_level_pct is not None else acc.last_fuel_pct,
        last_battery_v=fix.battery_v if newest and fix.battery_v is not None else acc.last_battery_v,
    )


def merge(a: MinuteStats, b: MinuteStats) -> MinuteStats:
    """Combine two partial aggregates of the same vehicle and window."""
    newer, older = (b, a) if b.last_ts >= a.last_ts else (a, b)
    coolants = [c for c in (a.max_coolant_c, b.max_coolant_c) if c is not None]
    return replace(
        newer,
        vehicle_id=a.vehicle_id or b.vehicle_id,
        samples=a.samples + b.samples, speed_sum=a.speed_sum + b.speed_sum,
        max_speed_kmh=max(a.max_speed_kmh, b.max_speed_kmh), distance_m=a.distance_m + b.distance_m,
        rpm_sum=a.rpm_sum + b.rpm_sum, rpm_samples=a.rpm_samples + b.rpm_samples,
        max_coolant_c=max(coolants) if coolants else None,
        last_fuel_pct=newer.last_fuel_pct if newer.last_fuel_pct is not None else older.last_fuel_pct,
        last_battery_v=newer.last_battery_v if newer.last_battery_v is not None else older.last_battery_v,
    )
