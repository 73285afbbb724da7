"""Device offline / back online, by arrival time, so it works when the whole stream is quiet.

Arrival time is the Kafka record timestamp (the MQTT receive time), so a restart or a replay sees
the same arrivals as the live run. ``on_fix`` records the newest arrival and the event time of
the newest fix; ``tick(now_ms)``, driven by the dataflow's timer with the stream clock's now
(``rules/fleet/stream_clock.py``: the backlog's time while catching up, else the wall clock),
emits ``device_offline`` once ``offline_timeout_s`` passed without data. The next fix emits
``device_online``. When that fix comes ``offline_timeout_s`` or more after the previous one and
no tick saw the silence (a backlog read faster than the timer, a replay), ``on_fix`` emits the
missed ``device_offline`` first. Either way the offline alert is stamped with the moment the
device became offline (last arrival + timeout) and its id derives from the event time of the
last fix before the silence, so live, recovered and replayed runs give the same records.
Late and out-of-order fixes count as "data arrived" too.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from contracts import alert as A
from contracts.telemetry import Telemetry

from .config import FleetSettings


@dataclass(frozen=True)
class OfflineState:
    last_arrival_ms: int | None = None
    last_event_ts: int = 0
    lat: float | None = None
    lon: float | None = None
    offline: bool = False


def on_fix(state: OfflineState, fix: Telemetry, fleet_id: str | None, arrival_ms: int,
           cfg: FleetSettings) -> tuple[OfflineState, list[A.Alert]]:
    """Any fix (even late) proves the device is alive; a silence no tick saw is reported now."""
    out: list[A.Alert] = []
    last = state.last_arrival_ms
    if not state.offline and last is not None and arrival_ms - last >= cfg.offline_timeout_s * 1000:
        state, out = _offline(state, last, fix.vehicle_id, fleet_id, cfg)
    if state.offline and last is not None:
        silent = (arrival_ms - last) / 1000
        out.append(A.make_alert(
            vehicle_id=fix.vehicle_id, fleet_id=fleet_id, type=A.DEVICE_ONLINE, severity="info", ts=fix.ts_ms,
            episode_ts=state.last_event_ts, value=silent, lat=fix.lat, lon=fix.lon,
            message=f"{fix.vehicle_id} is sending data again after {silent / 60:.0f} min",
            details={"last_seen_ts": state.last_event_ts, "incident_severity": "warning"},
            state="cleared", incident_id=A.make_alert_id(fix.vehicle_id, A.DEVICE_OFFLINE, state.last_event_ts, None),
        ))
    newest = max(state.last_event_ts, fix.ts_ms)
    pos = (fix.lat, fix.lon) if fix.ts_ms >= state.last_event_ts else (state.lat, state.lon)
    arrival = arrival_ms if last is None else max(last, arrival_ms)
    return OfflineState(arrival, newest, pos[0], pos[1], False), out


def tick(state: OfflineState, vehicle_id: str, fleet_id: str | None, now_ms: int, cfg: FleetSettings) -> tuple[OfflineState, list[A.Alert]]:
    """Timer at stream-clock ``now_ms``: offline once the timeout passed since the last arrival."""
    last = state.last_arrival_ms
    if state.offline or last is None or now_ms - last < cfg.offline_timeout_s * 1000:
        return state, []
    return _offline(state, last, vehicle_id, fleet_id, cfg)


def _offline(state: OfflineState, last_arrival_ms: int, vehicle_id: str, fleet_id: str | None,
             cfg: FleetSettings) -> tuple[OfflineState, list[A.Alert]]:
    """The offline alert, stamped when the device became offline, not when it was noticed, so
    its bytes do not depend on when a timer ran."""
    alert = A.make_alert(
        vehicle_id=vehicle_id, fleet_id=fleet_id, type=A.DEVICE_OFFLINE, severity="warning",
        ts=last_arrival_ms + int(cfg.offline_timeout_s * 1000), episode_ts=state.last_event_ts,
        value=cfg.offline_timeout_s, threshold=cfg.offline_timeout_s, lat=state.lat, lon=state.lon,
        message=f"{vehicle_id} sent no data for {cfg.offline_timeout_s / 60:.0f} min",
        details={"last_seen_ts": state.last_event_ts},
    )
    return replace(state, offline=True), [alert]
