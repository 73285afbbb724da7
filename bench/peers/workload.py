"""The input every peer of the processing benchmark reads: scripted fixes with known alerts.

Why scripted: the peers must provably do the same work, so the drive is deterministic and
raises alerts (overspeed + end, harsh braking / acceleration, a DTC, coolant high) that the
pure rules reproduce. Why markers: completion must be exact, not "no output for a while" -
each partition starts and ends with a two-fix marker vehicle whose first fix carries a DTC.
The rules release that fix when the second arrives (reorder buffer) and alert on it, so the
marker alert in the output means every earlier record of that partition went through the
rules. The ceiling flow emits one record per marker instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from contracts.telemetry import Telemetry

MARKER_DTC = "P0300"
START, END = "start", "end"


@dataclass(frozen=True)
class Workload:
    run: str
    vehicles: int
    seconds: int
    partitions: int
    start_ms: int  # on a minute boundary, so 1-minute windows line up the same way every run

    @property
    def fleet_id(self) -> str:
        return f"{self.run}-fleet"

    def vehicle_id(self, v: int) -> str:
        return f"{self.run}-v{v:04d}"

    def marker_id(self, kind: str, partition: int) -> str:
        return f"{self.run}-{kind}-p{partition}"

    @property
    def records(self) -> int:
        return self.vehicles * self.seconds + 4 * self.partitions


def marker_kind(vehicle_id: str) -> str | None:
    """``start`` / ``end`` for a marker vehicle id (any run), else None."""
    for kind in (START, END):
        if f"-{kind}-p" in vehicle_id:
            return kind
    return None


def write_registry(w: Workload, path: Path) -> Path:
    """Vehicles file (rules/fleet/registry.py format): one fleet, limit 100 km/h, markers included."""
    ids = [w.vehicle_id(v) for v in range(w.vehicles)]
    ids += [w.marker_id(k, p) for k in (START, END) for p in range(w.partitions)]
    path.write_text(json.dumps({
        "fleets": [{"id": w.fleet_id, "name": "processing bench", "speed_limit_kmh": 100}],
        "vehicles": [{"id": vid, "name": vid, "fleet_id": w.fleet_id} for vid in ids]}))
    return path


def speed_at(t: int) -> float:
    """A 150 s cycle: 50 km/h, speed up to 125 (overspeed for ~25 s), hard brake, slow, speed up."""
    c = t % 150
    if c < 60:
        return 50.0
    if c < 66:
        return 50.0 + (c - 59) * 13.0  # 3.6 m/s^2: harsh acceleration
    if c < 95:
        return 125.0
    if c < 100:
        return 125.0 - (c - 94) * 20.0  # 5.6 m/s^2: harsh braking
    if c < 120:
        return 25.0
    return 25.0 + (c - 119) * 0.8


def fix(w: Workload, v: int, t: int, lat: float, lon: float) -> Telemetry:
    speed = speed_at(t + v * 7)
    coolant = 115.0 if w.seconds // 2 <= t < w.seconds // 2 + 3 else 90.0
    return Telemetry(vehicle_id=w.vehicle_id(v), ts_ms=w.start_ms + t * 1000, lat=lat, lon=round(lon, 7),
                     speed_kmh=speed, ignition=True, rpm=800.0 + speed * 30, coolant_temp_c=coolant, battery_v=14.0,
                     fuel_level_pct=60.0, dtc=["P0171"] if t == w.seconds // 3 else [])


def marker_fixes(w: Workload, kind: str, partition: int) -> list[Telemetry]:
    """Two fixes 35 s apart (more than the 30 s allowed lateness): the second releases the first."""
    base = w.start_ms - 40_000 if kind == START else w.start_ms + w.seconds * 1000
    vid = w.marker_id(kind, partition)
    return [Telemetry(vehicle_id=vid, ts_ms=base + dt, lat=52.0, lon=13.0, speed_kmh=0.0, ignition=False,
                      battery_v=12.6, dtc=dtc) for dt, dtc in ((0, [MARKER_DTC]), (35_000, []))]


def drive(w: Workload) -> Iterator[Telemetry]:
    """All vehicles' fixes in time order (as a fleet would send them), 1 Hz, moving east near Berlin."""
    pos = [(52.45 + (v % 50) * 0.002, 13.25 + (v // 50) * 0.02) for v in range(w.vehicles)]
    for t in range(w.seconds):
        for v in range(w.vehicles):
            lat, lon = pos[v]
            f = fix(w, v, t, lat, lon)
            pos[v] = (lat, lon + f.speed_kmh / 3.6 / 68_000)  # metres east -> degrees at this latitude
            yield f
