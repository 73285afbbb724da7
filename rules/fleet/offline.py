"""Device offline / back online, by processing time, so it works when the whole stream is quiet.

``on_fix`` records when data last arrived (processing clock) and the event time of that
fix; ``tick(now_ms)``, driven by a wall-clock timer of the dataflow, emits
``device_offline`` once ``offline_timeout_s`` passed without data. The next fix emits
``device_online``. Ids derive from the event time of the last fix before the silence, so a
replay gives the same ids. Late and out-of-order fixes count as "data arrived" too.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from contracts.telemetry import Telemetry

from . import alerts as A
from .config import FleetSettings


@dataclass(frozen=True)
class OfflineState:
    last_arrival_ms: int | None = None
    last_event_ts: int = 0
    lat: float | None = None
    lon: float | None = None
    offline: bool = False


def on_fix(state: OfflineState, fix: Telemetry, fleet_id: str | None, arrival_ms: int) -> tuple[OfflineState, list[A.Alert]]:
    """Any fix (even late) proves the device is alive."""
    out: list[A.Alert] = []
    if state.offline:
        silent = (arrival_ms - (state.last_arrival_ms or arrival_ms)) / 1000
        out.append(A.make_alert(
            vehicle_id=fix.vehicle_id, fleet_id=fleet_id, type=A.DEVICE_ONLINE, severity="info", ts=fix.ts_ms,
            episode_ts=state.last_event_ts, value=silent, lat=fix.lat, lon=fix.lon,
            message=f"{fix.vehicle_id} is sending data again after {silent / 60:.0f} min",
            details={"last_seen_ts": state.last_event_ts},
        ))
    newest = max(state.last_event_ts, fix.ts_ms)
    pos = (fix.lat, fix.lon) if fix.ts_ms >= state.last_event_ts else (state.lat, state.lon)
    return OfflineState(arrival_ms, newest, pos[0], pos[1], False), out


def tick(state: OfflineState, vehicle_id: str, fleet_id: str | None, now_ms: int, cfg: FleetSettings) -> tuple[OfflineState, list[A.Alert]]:
    """Wall-clock tick; ``ts`` of the alert is ``now_ms`` (no fix exists to stamp it)."""
    if state.offline or state.last_arrival_ms is None:
        return state, []
    silent = (now_ms - state.last_arrival_ms) / 1000
    if silent < cfg.offline_timeout_s:
        return state, []
    alert = A.make_alert(
        vehicle_id=vehicle_id, fleet_id=fleet_id, type=A.DEVICE_OFFLINE, severity="warning", ts=now_ms,
        episode_ts=state.last_event_ts, value=silent, threshold=cfg.offline_timeout_s, lat=state.lat, lon=state.lon,
        message=f"{vehicle_id} sent no data for {silent / 60:.0f} min",
        details={"last_seen_ts": state.last_event_ts},
    )
    return replace(state, offline=True), [alert]
