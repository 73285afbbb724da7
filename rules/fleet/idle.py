"""Idling as an incident: raised after ``idle_min_s`` with the engine on and not moving, cleared
when the vehicle drives off, the engine stops, or the data stops.

Ignition comes from the fix; when the device does not report it, ``rpm > 0`` counts as
engine on. Neither known = no idle detection (we would rather miss than invent). The episode
ends (and an alerted one clears) at:

- a fix with the engine off (decisive: one is enough), or with the engine state unknown;
- moving (speed above ``idle_speed_kmh``) for ``range_min_samples`` fixes in a row: one noisy
  GPS speed reading of a standing vehicle neither ends nor restarts the episode;
- a gap over ``idle_max_gap_s``: we did not see the vehicle idle in between, so the incident
  ends at the last fix seen idling and the count restarts.

Ids: the raise keeps its id (vehicle, ``idle``, the episode's first fix); the clear is the same
episode with ``cleared``; both event-time only, so a replay gives the same records.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

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
    last_ts: int = 0  # last fix seen (idling, or moving within an episode)
    alerted: bool = False
    moving_since_ts: int | None = None  # first of the moving fixes in a row inside an episode
    moving_count: int = 0
    last_lat: float = 0.0  # of the last fix seen idling: where a gap ends the incident
    last_lon: float = 0.0
    idle_ts: int = 0  # last fix seen idling


_REASONS = {"moving": "drove off", "engine_off": "engine stopped", "engine_unknown": "engine state no longer reported",
            "gap": "no data"}


def _clear(state: IdleState, vid: str, fleet_id: str | None, ts: int, end_ts: int, lat: float, lon: float, reason: str,
           cfg: FleetSettings) -> list[A.Alert]:
    if not state.alerted or state.since_ts is None:
        return []
    duration = (end_ts - state.since_ts) / 1000
    return [A.make_alert(
        vehicle_id=vid, fleet_id=fleet_id, type=A.IDLE, severity="info", ts=ts, episode_ts=state.since_ts,
        id_parts=("cleared",), value=duration, threshold=cfg.idle_min_s, lat=lat, lon=lon,
        message=f"{vid} stopped idling after {duration / 60:.0f} min ({_REASONS[reason]})",
        details={"start_ts": state.since_ts, "end_ts": end_ts, "duration_s": duration, "reason": reason,
                 "incident_severity": "info"},
        state="cleared", incident_id=A.make_alert_id(vid, A.IDLE, state.since_ts, None),
    )]


def step(state: IdleState, fix: Telemetry, fleet_id: str | None, cfg: FleetSettings) -> tuple[IdleState, list[A.Alert]]:
    """Feed one in-order fix; raise when the idle episode reaches ``idle_min_s``, clear when it ends."""
    ts, vid = fix.ts_ms, fix.vehicle_id
    engine = engine_on(fix)
    out: list[A.Alert] = []
    if state.since_ts is not None and ts - state.last_ts > cfg.idle_max_gap_s * 1000:
        out += _clear(state, vid, fleet_id, ts, state.idle_ts, state.last_lat, state.last_lon, "gap", cfg)
        state = IdleState(last_ts=state.last_ts)
    if engine is not True:
        reason = "engine_off" if engine is False else "engine_unknown"
        out += _clear(state, vid, fleet_id, ts, ts, fix.lat, fix.lon, reason, cfg)
        return IdleState(last_ts=ts), out
    if fix.speed_kmh > cfg.idle_speed_kmh:
        if state.since_ts is None:
            return IdleState(last_ts=ts), out
        moving_since = state.moving_since_ts if state.moving_since_ts is not None else ts
        state = replace(state, last_ts=ts, moving_since_ts=moving_since, moving_count=state.moving_count + 1)
        if state.moving_count < cfg.range_min_samples:
            return state, out  # one reading is not driving off (a standing receiver's speed jitter)
        out += _clear(state, vid, fleet_id, ts, moving_since, fix.lat, fix.lon, "moving", cfg)
        return IdleState(last_ts=ts), out
    if state.since_ts is None:
        state = IdleState(since_ts=ts)
    state = replace(state, last_ts=ts, moving_since_ts=None, moving_count=0, last_lat=fix.lat, last_lon=fix.lon, idle_ts=ts)
    since = state.since_ts
    assert since is not None
    duration = (ts - since) / 1000
    if state.alerted or duration < cfg.idle_min_s:
        return state, out
    out.append(A.make_alert(
        vehicle_id=vid, fleet_id=fleet_id, type=A.IDLE, severity="info", ts=ts, episode_ts=since,
        value=duration, threshold=cfg.idle_min_s, lat=fix.lat, lon=fix.lon,
        message=f"{vid} idling for {duration / 60:.0f} min with the engine on",
        details={"start_ts": since},
    ))
    return replace(state, alerted=True), out
