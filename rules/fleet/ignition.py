"""Ignition events (Traccar's ignition handler): ``ignition_on`` / ``ignition_off`` when the
reported ignition changes from one fix to the next.

Only the contract's ``ignition`` counts (no rpm fallback: an engine stalling is not a key
turned). Fixes that do not report it are skipped, so on / unknown / on is no event. The first
fix that reports it only sets the state: we did not see the key turn.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts import alert as A
from contracts.telemetry import Telemetry

from .config import FleetSettings


@dataclass(frozen=True)
class IgnitionState:
    on: bool | None = None  # last reported ignition; None until a fix reports one
    since_ts: int = 0  # first fix of that state


def step(state: IgnitionState, fix: Telemetry, fleet_id: str | None, cfg: FleetSettings) -> tuple[IgnitionState, list[A.Alert]]:
    """Feed one in-order fix; an alert when its ignition differs from the last reported one."""
    if fix.ignition is None or fix.ignition == state.on:
        return state, []
    new = IgnitionState(fix.ignition, fix.ts_ms)
    if state.on is None:
        return new, []
    vid, ts = fix.vehicle_id, fix.ts_ms
    kind, verb = (A.IGNITION_ON, "on") if fix.ignition else (A.IGNITION_OFF, "off")
    was = (ts - state.since_ts) / 1000
    how_long = f"{was:.0f} s" if was < 120 else f"{was / 60:.0f} min"
    alert = A.make_alert(
        vehicle_id=vid, fleet_id=fleet_id, type=kind, severity="info", ts=ts, episode_ts=ts, lat=fix.lat, lon=fix.lon,
        value=was, message=f"{vid} ignition {verb} after {how_long} {'off' if fix.ignition else 'on'}",
        details={"previous_since_ts": state.since_ts},
    )
    return new, [alert]
