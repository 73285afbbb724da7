"""Motion events (Traccar's "moving" / "stopped"): ``motion_started`` / ``motion_stopped``.

Derived from the trip rule's state, so motion and trips cannot disagree: moving is what
trips call moving (speed above ``trip_start_speed_kmh``, ignition not off), a motion starts
at the first moving fix (= the trip's ``start_ts``) and is announced once the vehicle has
covered ``motion_min_distance_m`` *or* been under way ``motion_min_duration_s`` (Traccar's
minimal trip distance / duration, either one); a stop shorter than ``trip_min_stop_s`` does not
end it, a longer one or a data gap of ``trip_max_gap_s`` does (``motion_stopped``, stamped
with the moment the vehicle stopped = the trip's ``end_ts``). Both thresholds are capped at
the trip minima, so every trip that is kept has had its ``motion_started``.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts import alert as A

from .config import FleetSettings
from .trips import TripAcc, TripState


@dataclass(frozen=True)
class MotionState:
    start_ts: int | None = None  # start of the trip being watched; None = not moving
    announced: bool = False
    end: tuple[int, float, float] = (0, 0.0, 0.0)  # where that motion would end now (ts, lat, lon)
    distance_m: float = 0.0


def _so_far(trips: TripState) -> TripAcc | None:
    """The trip as it would end now (as it was when a current stop began)."""
    return trips.at_stop if trips.at_stop is not None else trips.trip


def _stopped(state: MotionState, vid: str, fleet_id: str | None) -> list[A.Alert]:
    if state.start_ts is None or not state.announced:
        return []
    end_ts, lat, lon = state.end
    duration = (end_ts - state.start_ts) / 1000
    return [A.make_alert(
        vehicle_id=vid, fleet_id=fleet_id, type=A.MOTION_STOPPED, severity="info", ts=end_ts, episode_ts=state.start_ts,
        value=state.distance_m, lat=lat, lon=lon,
        message=f"{vid} stopped after {state.distance_m / 1000:.1f} km in {duration / 60:.0f} min",
        details={"start_ts": state.start_ts, "end_ts": end_ts, "duration_s": duration, "distance_m": round(state.distance_m, 1)},
    )]


def step(state: MotionState, trips: TripState, vid: str, fleet_id: str | None, cfg: FleetSettings,
         ts: int | None = None) -> tuple[MotionState, list[A.Alert]]:
    """After the trip rule ran (on a fix at ``ts``, or on a tick with ``ts`` None): the new state and events."""
    out: list[A.Alert] = []
    trip = trips.trip
    if state.start_ts is not None and (trip is None or trip.start_ts != state.start_ts):
        out += _stopped(state, vid, fleet_id)
        state = MotionState()
    acc = _so_far(trips)
    if trip is None or acc is None:
        return state, out
    if state.start_ts is None:
        state = MotionState(start_ts=trip.start_ts)
    state = MotionState(state.start_ts, state.announced, (acc.end_ts, acc.end_lat, acc.end_lon), acc.distance_m)
    min_m = min(cfg.motion_min_distance_m, cfg.trip_min_distance_m)
    min_s = min(cfg.motion_min_duration_s, cfg.trip_min_duration_s)
    duration = (acc.end_ts - acc.start_ts) / 1000
    if ts is not None and not state.announced and (acc.distance_m >= min_m or duration >= min_s):
        state = MotionState(state.start_ts, True, state.end, state.distance_m)
        out.append(A.make_alert(
            vehicle_id=vid, fleet_id=fleet_id, type=A.MOTION_STARTED, severity="info", ts=ts, episode_ts=acc.start_ts,
            value=acc.distance_m, threshold=min_m, lat=acc.start_lat, lon=acc.start_lon,
            message=f"{vid} started moving: {acc.distance_m:.0f} m in {duration:.0f} s",
            details={"start_ts": acc.start_ts, "distance_m": round(acc.distance_m, 1), "duration_s": duration},
        ))
    return state, out
