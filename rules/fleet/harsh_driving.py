"""Harsh braking, acceleration and cornering, one alert per episode.

Longitudinal acceleration comes from the accelerometer (``accel_ms2.x``, negative = braking)
when the fix has it, else from the speed change between two consecutive fixes divided by
their time gap (what Traccar does for devices without an accelerometer). Gaps longer than
``harsh_max_gap_s`` give no value: an average over minutes says nothing about a manoeuvre.
Cornering needs the accelerometer (``|accel_ms2.y|``). Consecutive fixes over a threshold
are one episode; it ends at the first fix under it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from contracts import alert as A
from contracts.telemetry import Telemetry

from .config import FleetSettings


@dataclass(frozen=True)
class HarshState:
    prev_ts: int | None = None
    prev_speed_kmh: float = 0.0
    braking_since: int | None = None
    accel_since: int | None = None
    corner_since: int | None = None


def longitudinal_ms2(state: HarshState, fix: Telemetry, cfg: FleetSettings) -> tuple[float | None, str]:
    """(acceleration m/s^2, method) for this fix; None when it cannot be known."""
    if fix.accel_ms2 is not None and fix.accel_ms2.x is not None:
        return fix.accel_ms2.x, "accelerometer"
    if state.prev_ts is None:
        return None, "speed_delta"
    dt = (fix.ts_ms - state.prev_ts) / 1000
    if dt <= 0 or dt > cfg.harsh_max_gap_s:
        return None, "speed_delta"
    return (fix.speed_kmh - state.prev_speed_kmh) / 3.6 / dt, "speed_delta"


def step(state: HarshState, fix: Telemetry, fleet_id: str | None, cfg: FleetSettings) -> tuple[HarshState, list[A.Alert]]:
    """Feed one in-order fix; return new state and alerts of newly started episodes."""
    a, method = longitudinal_ms2(state, fix, cfg)
    lateral = fix.accel_ms2.y if fix.accel_ms2 is not None else None
    checks = (
        ("braking_since", A.HARSH_BRAKING, None if a is None else -a, cfg.harsh_brake_ms2, "braked"),
        ("accel_since", A.HARSH_ACCELERATION, a, cfg.harsh_accel_ms2, "accelerated"),
        ("corner_since", A.HARSH_CORNERING, None if lateral is None else abs(lateral), cfg.harsh_corner_ms2, "cornered"),
    )
    out: list[A.Alert] = []
    changes: dict[str, int | None] = {}
    for attr, type_, value, threshold, verb in checks:
        if value is None or value < threshold:
            changes[attr] = None
            continue
        if getattr(state, attr) is not None:
            continue  # same episode
        changes[attr] = fix.ts_ms
        out.append(A.make_alert(
            vehicle_id=fix.vehicle_id, fleet_id=fleet_id, type=type_, severity="warning", ts=fix.ts_ms,
            episode_ts=fix.ts_ms, value=value, threshold=threshold, lat=fix.lat, lon=fix.lon,
            message=f"{fix.vehicle_id} {verb} harshly: {value:.1f} m/s^2 (threshold {threshold:.1f})",
            details={"method": "accelerometer" if type_ == A.HARSH_CORNERING else method,
                     "speed_kmh": fix.speed_kmh, "prev_speed_kmh": state.prev_speed_kmh},
        ))
    return replace(state, prev_ts=fix.ts_ms, prev_speed_kmh=fix.speed_kmh, **changes), out
