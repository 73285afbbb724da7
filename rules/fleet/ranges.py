"""Device-reported values out of range: coolant, battery, tires, oil life, rpm.

``evaluate`` rates each reported value of one fix (context matters: a battery at 12.3 V is
fine with the engine off and a charging fault with it running). ``step`` turns ratings into
episodes: an alert after ``range_min_samples`` consecutive out-of-range fixes (one noisy
reading is not an alert), one per episode, and again only if it escalates to critical. A
value the fix does not report leaves its episode as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from contracts import alert as A
from contracts.telemetry import Telemetry

from .config import FleetSettings

WHEELS = {"fl": "front left", "fr": "front right", "rl": "rear left", "rr": "rear right"}


@dataclass(frozen=True)
class Rating:
    key: str  # what is rated: coolant, battery, tire_fl, ...
    type: str | None  # alert type, None = in range
    severity: A.Severity = "warning"
    value: float = 0.0
    threshold: float = 0.0
    what: str = ""


def engine_running(fix: Telemetry) -> bool | None:
    """rpm says it best (ignition on with the engine off does not charge); else ignition."""
    if fix.rpm is not None:
        return fix.rpm > 300
    return fix.ignition


def _band(key: str, type_: str, value: float, lo: float | None, hi: float | None, crit_lo: float | None = None,
          crit_hi: float | None = None, what: str = "") -> Rating:
    if crit_lo is not None and value < crit_lo:
        return Rating(key, type_, "critical", value, crit_lo, what)
    if crit_hi is not None and value > crit_hi:
        return Rating(key, type_, "critical", value, crit_hi, what)
    if lo is not None and value < lo:
        return Rating(key, type_, "warning", value, lo, what)
    if hi is not None and value > hi:
        return Rating(key, type_, "warning", value, hi, what)
    return Rating(key, None, value=value)


def evaluate(fix: Telemetry, cfg: FleetSettings) -> list[Rating]:
    """One rating per value this fix reports."""
    out: list[Rating] = []
    if fix.coolant_temp_c is not None:
        out.append(_band("coolant", A.COOLANT_HIGH, fix.coolant_temp_c, None, cfg.coolant_high_c, crit_hi=cfg.coolant_critical_c, what="coolant temperature (C)"))
    if fix.battery_v is not None:
        running = engine_running(fix)
        if running:
            out.append(_band("battery", A.CHARGING_FAULT, fix.battery_v, cfg.battery_charging_low_v, cfg.battery_charging_high_v, what="battery voltage while running (V)"))
        elif running is False:
            out.append(_band("battery", A.BATTERY_LOW, fix.battery_v, cfg.battery_off_low_v, None, crit_lo=cfg.battery_off_critical_v, what="battery voltage with engine off (V)"))
        else:
            out.append(_band("battery", A.BATTERY_LOW, fix.battery_v, None, None, crit_lo=cfg.battery_off_critical_v, what="battery voltage (V)"))
    if fix.tire_pressure_kpa is not None:
        for wheel, label in WHEELS.items():
            kpa = getattr(fix.tire_pressure_kpa, wheel)
            if kpa is None:
                continue
            low = _band(f"tire_{wheel}", A.TIRE_PRESSURE_LOW, kpa, cfg.tire_low_kpa, None, crit_lo=cfg.tire_critical_kpa, what=f"{label} tire pressure (kPa)")
            out.append(low if low.type else _band(f"tire_{wheel}", A.TIRE_PRESSURE_HIGH, kpa, None, cfg.tire_high_kpa, what=f"{label} tire pressure (kPa)"))
    if fix.oil_life_pct is not None:
        out.append(_band("oil_life", A.OIL_LIFE_LOW, fix.oil_life_pct, cfg.oil_life_low_pct, None, crit_lo=cfg.oil_life_critical_pct, what="oil life (%)"))
    if fix.rpm is not None:
        out.append(_band("rpm", A.RPM_HIGH, fix.rpm, None, cfg.rpm_high, what="engine speed (rpm)"))
    return out


@dataclass(frozen=True)
class Episode:
    type: str
    since_ts: int
    count: int
    alerted: A.Severity | None = None


@dataclass(frozen=True)
class RangeState:
    episodes: Mapping[str, Episode] = field(default_factory=dict)


def step(state: RangeState, fix: Telemetry, fleet_id: str | None, cfg: FleetSettings) -> tuple[RangeState, list[A.Alert]]:
    """Feed one in-order fix; return new state and alerts."""
    episodes = dict(state.episodes)
    out: list[A.Alert] = []
    for r in evaluate(fix, cfg):
        ep = episodes.get(r.key)
        if r.type is None:
            episodes.pop(r.key, None)
            continue
        if ep is None or ep.type != r.type:
            ep = Episode(r.type, fix.ts_ms, 0)
        ep = Episode(ep.type, ep.since_ts, ep.count + 1, ep.alerted)
        escalates = ep.alerted is None or (ep.alerted == "warning" and r.severity == "critical")
        if ep.count >= cfg.range_min_samples and escalates:
            ep = Episode(ep.type, ep.since_ts, ep.count, r.severity)
            out.append(A.make_alert(
                vehicle_id=fix.vehicle_id, fleet_id=fleet_id, type=r.type, severity=r.severity, ts=fix.ts_ms,
                episode_ts=ep.since_ts, id_parts=(r.key, r.severity), value=r.value, threshold=r.threshold,
                lat=fix.lat, lon=fix.lon, message=f"{fix.vehicle_id}: {r.what} is {r.value:g}, limit {r.threshold:g}",
                details={"key": r.key, "start_ts": ep.since_ts},
            ))
        episodes[r.key] = ep
    return RangeState(episodes), out
