"""Harsh braking, acceleration and cornering as incidents: raised at the first harsh reading,
cleared after a quiet period.

Longitudinal acceleration comes from the accelerometer (``accel_ms2.x``, negative = braking)
when the fix has it, else from the speed change between two consecutive fixes divided by
their time gap (what Traccar does for devices without an accelerometer). Gaps longer than
``harsh_max_gap_s`` give no value: an average over minutes says nothing about a manoeuvre.
Cornering needs the accelerometer (``|accel_ms2.y|``).

A harsh event is over in a second or two, so its incident is the burst: raised at the first
fix over the threshold (as the alert always was: same time, same id), extended by every harsh
reading of the same type within ``harsh_quiet_s`` (a stop-and-go with three jerky brakes is one
incident, one notification, one count in the trip's score), and cleared at the first fix
``harsh_quiet_s`` after the last harsh reading. A vehicle that sends nothing more (a crash)
keeps its incident open until its next fix.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from contracts import alert as A
from contracts.telemetry import Telemetry

from .config import FleetSettings


@dataclass(frozen=True)
class HarshIncident:
    """An open incident of one type: raised at ``since_ts``, last harsh reading at ``last_ts``."""

    type: str
    since_ts: int
    last_ts: int
    peak: float
    events: int = 1  # harsh episodes (runs of consecutive harsh fixes) inside it


@dataclass(frozen=True)
class HarshState:
    prev_ts: int | None = None
    prev_speed_kmh: float = 0.0
    braking_since: int | None = None  # the current run of consecutive harsh fixes, per type
    accel_since: int | None = None
    corner_since: int | None = None
    incidents: tuple[HarshIncident, ...] = ()  # open ones; a plain default so older recovered states read as none


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


_NOUN = {A.HARSH_BRAKING: "harsh braking", A.HARSH_ACCELERATION: "harsh acceleration", A.HARSH_CORNERING: "harsh cornering"}


def _clear(fix: Telemetry, fleet_id: str | None, inc: HarshIncident, threshold: float, cfg: FleetSettings) -> A.Alert:
    return A.make_alert(
        vehicle_id=fix.vehicle_id, fleet_id=fleet_id, type=inc.type, severity="info", ts=fix.ts_ms, episode_ts=inc.since_ts,
        id_parts=("cleared",), value=inc.peak, threshold=threshold, lat=fix.lat, lon=fix.lon,
        message=f"{fix.vehicle_id}: no more {_NOUN[inc.type]} for {cfg.harsh_quiet_s:.0f} s "
                f"({inc.events} event{'s' if inc.events != 1 else ''}, peak {inc.peak:.1f} m/s^2)",
        details={"start_ts": inc.since_ts, "end_ts": inc.last_ts, "events": inc.events, "peak_ms2": round(inc.peak, 3),
                 "incident_severity": "warning"},
        state="cleared", incident_id=A.make_alert_id(fix.vehicle_id, inc.type, inc.since_ts, None),
    )


def step(state: HarshState, fix: Telemetry, fleet_id: str | None, cfg: FleetSettings) -> tuple[HarshState, list[A.Alert]]:
    """Feed one in-order fix; return new state and the incidents it raised or cleared."""
    a, method = longitudinal_ms2(state, fix, cfg)
    lateral = fix.accel_ms2.y if fix.accel_ms2 is not None else None
    checks = (
        ("braking_since", A.HARSH_BRAKING, None if a is None else -a, cfg.harsh_brake_ms2, "braked"),
        ("accel_since", A.HARSH_ACCELERATION, a, cfg.harsh_accel_ms2, "accelerated"),
        ("corner_since", A.HARSH_CORNERING, None if lateral is None else abs(lateral), cfg.harsh_corner_ms2, "cornered"),
    )
    out: list[A.Alert] = []
    changes: dict[str, int | None] = {}
    open_ = {inc.type: inc for inc in state.incidents}
    for attr, type_, value, threshold, verb in checks:
        inc = open_.get(type_)
        if value is None or value < threshold:
            changes[attr] = None
            if inc is not None and fix.ts_ms - inc.last_ts >= cfg.harsh_quiet_s * 1000:
                out.append(_clear(fix, fleet_id, inc, threshold, cfg))
                del open_[type_]
            continue
        new_episode = getattr(state, attr) is None
        if new_episode:
            changes[attr] = fix.ts_ms
        if inc is None and not new_episode:
            continue  # a run raised by a version before incidents (a recovered state): already alerted
        if inc is not None:  # within the quiet period: the same incident goes on
            open_[type_] = replace(inc, last_ts=fix.ts_ms, peak=max(inc.peak, value), events=inc.events + int(new_episode))
            continue
        open_[type_] = HarshIncident(type_, fix.ts_ms, fix.ts_ms, value)
        out.append(A.make_alert(
            vehicle_id=fix.vehicle_id, fleet_id=fleet_id, type=type_, severity="warning", ts=fix.ts_ms,
            episode_ts=fix.ts_ms, value=value, threshold=threshold, lat=fix.lat, lon=fix.lon,
            message=f"{fix.vehicle_id} {verb} harshly: {value:.1f} m/s^2 (threshold {threshold:.1f})",
            details={"method": "accelerometer" if type_ == A.HARSH_CORNERING else method,
                     "speed_kmh": fix.speed_kmh, "prev_speed_kmh": state.prev_speed_kmh},
        ))
    incidents = tuple(open_[t] for t in sorted(open_))
    # every field given (not ``replace``: its per-field loop on every fix cost more than the rule's checks)
    return HarshState(prev_ts=fix.ts_ms, prev_speed_kmh=fix.speed_kmh,
                      braking_since=changes.get("braking_since", state.braking_since),
                      accel_since=changes.get("accel_since", state.accel_since),
                      corner_since=changes.get("corner_since", state.corner_since), incidents=incidents), out
