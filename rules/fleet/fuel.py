"""Fuel drop that looks like siphoning or a leak, and refuels.

Levels are smoothed with the median of the last three readings (a tank sloshes). Against the
highest level of the last ``fuel_window_s``:
- a drop of ``fuel_drop_parked_pct`` while parked the whole time (not moving, within 200 m)
  is siphoning - the baseline before a data gap is kept, because a device that sleeps while
  the car is parked overnight is exactly when fuel is stolen;
- a drop of ``fuel_drop_moving_pct`` within the window while driving is a leak (normal
  consumption is a few % per 15 min at most).
A rise of ``refuel_rise_pct`` is a refuel. Each alert resets the baseline: one per episode.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts import alert as A
from contracts.telemetry import Telemetry

from .config import FleetSettings
from .evolve import evolve
from .geo import haversine_m

PARKED_RADIUS_M = 200.0


@dataclass(frozen=True)
class FuelState:
    raw: tuple[float, ...] = ()  # last three raw readings
    window: tuple[tuple[int, float, float, float, bool], ...] = ()  # (ts, level, lat, lon, parked)


def _alert(fix: Telemetry, fleet_id: str | None, type_: str, sev: A.Severity, value: float, thr: float, since: int, msg: str) -> A.Alert:
    return A.make_alert(vehicle_id=fix.vehicle_id, fleet_id=fleet_id, type=type_, severity=sev, ts=fix.ts_ms, episode_ts=since,
                        value=value, threshold=thr, lat=fix.lat, lon=fix.lon, message=msg, details={"since_ts": since})


def _median(raw: tuple[float, ...]) -> float:
    """``statistics.median`` of the last one to three readings, without its generic sort and checks."""
    if len(raw) == 3:
        return sorted(raw)[1]
    return raw[0] if len(raw) == 1 else (raw[0] + raw[1]) / 2


def step(state: FuelState, fix: Telemetry, fleet_id: str | None, cfg: FleetSettings) -> tuple[FuelState, list[A.Alert]]:
    """Feed one in-order fix; return new state and fuel_drop / refuel alerts."""
    if fix.fuel_level_pct is None:
        return state, []
    raw = (*state.raw[-2:], fix.fuel_level_pct)
    level = _median(raw)
    parked = fix.speed_kmh <= cfg.idle_speed_kmh or fix.ignition is False
    entry = (fix.ts_ms, level, fix.lat, fix.lon, parked)
    cutoff = fix.ts_ms - cfg.fuel_window_s * 1000
    window = [e for e in state.window if e[0] >= cutoff] or list(state.window[-1:])
    if window and window[-1][1] == level and window[-1][4] == parked:
        window[-1] = entry  # same level, same state: keep the window short
    else:
        window.append(entry)
    vid = fix.vehicle_id
    low = min(window, key=lambda e: e[1])
    if level - low[1] >= cfg.refuel_rise_pct:
        alert = _alert(fix, fleet_id, A.REFUEL, "info", level - low[1], cfg.refuel_rise_pct, low[0],
                       f"{vid} refuelled: {low[1]:.0f}% -> {level:.0f}%")
        return FuelState(raw, (entry,)), [alert]
    peak_i = max(range(len(window)), key=lambda i: (window[i][1], i))
    peak = window[peak_i]
    drop = peak[1] - level
    stayed = haversine_m(peak[2], peak[3], fix.lat, fix.lon) <= PARKED_RADIUS_M
    all_parked = stayed and all(e[4] for e in window[peak_i:])
    if all_parked and drop >= cfg.fuel_drop_parked_pct:
        alert = _alert(fix, fleet_id, A.FUEL_DROP, "critical", drop, cfg.fuel_drop_parked_pct, peak[0],
                       f"{vid} lost {drop:.0f}% fuel while parked ({peak[1]:.0f}% -> {level:.0f}%): possible siphoning")
        return FuelState(raw, (entry,)), [alert]
    if drop >= cfg.fuel_drop_moving_pct and fix.ts_ms - peak[0] <= cfg.fuel_window_s * 1000:
        alert = _alert(fix, fleet_id, A.FUEL_DROP, "critical", drop, cfg.fuel_drop_moving_pct, peak[0],
                       f"{vid} lost {drop:.0f}% fuel in {(fix.ts_ms - peak[0]) / 60000:.0f} min: possible leak or theft")
        return FuelState(raw, (entry,)), [alert]
    return evolve(state, raw=raw, window=tuple(window)), []
