"""Idling: ignition on and not moving for ``idle_min_s``; one alert per episode.

Ignition comes from the fix; when the device does not report it, ``rpm > 0`` counts as
engine on. Neither known = no idle detection (we would rather miss than invent). A gap over
``idle_max_gap_s`` restarts the count: we did not see the vehicle idle in between.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts import alert as A
from contracts.telemetry import Telemetry

from .config import FleetSettings


def engine_on(fix: Telemetry) -> bool | None:
    """Ignition, else rpm > 0, else unknown."""
    if fix.ignition is not None:
        return fix.ignition
    if fix.rpm is not None:
        return fix.rpm > 0
    return None


@dataclass(frozen=True)
class IdleState:
    since_ts: int | None = None
    last_ts: int = 0
    alerted: bool = False


def step(state: IdleState, fix: Telemetry, fleet_id: str | None, cfg: FleetSettings) -> tuple[IdleState, list[A.Alert]]:
    """Feed one in-order fix; alert once when the idle episode reaches ``idle_min_s``."""
    ts = fix.ts_ms
    idling = engine_on(fix) is True and fix.speed_kmh <= cfg.idle_speed_kmh
    if not idling:
        return IdleState(last_ts=ts), []
    if state.since_ts is None or ts - state.last_ts > cfg.idle_max_gap_s * 1000:
        state = IdleState(since_ts=ts, last_ts=ts)
    since = state.since_ts
    assert since is not None
    duration = (ts - since) / 1000
    if state.alerted or duration < cfg.idle_min_s:
        return IdleState(since, ts, state.alerted), []
    alert = A.make_alert(
        vehicle_id=fix.vehicle_id, fleet_id=fleet_id, type=A.IDLE, severity="info", ts=ts, episode_ts=since,
        value=duration, threshold=cfg.idle_min_s, lat=fix.lat, lon=fix.lon,
        message=f"{fix.vehicle_id} idling for {duration / 60:.0f} min with the engine on",
        details={"start_ts": since},
    )
    return IdleState(since, ts, True), [alert]
