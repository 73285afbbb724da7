"""Trips: start on movement, end after a stop of ``trip_min_stop_s`` or a data gap.

Moving = speed above ``trip_start_speed_kmh`` with the ignition not off. A trip starts at the
first moving fix. When the vehicle stops, the trip as it was at the first stopped fix is kept
aside; if it moves again before ``trip_min_stop_s`` the stop was short and stays inside the
trip (as idle time when the engine ran); otherwise the kept trip is the one that ended. A gap
of ``trip_max_gap_s`` without fixes is a stop (Traccar does the same). Trips shorter than
``trip_min_distance_m`` or ``trip_min_duration_s`` are discarded (Traccar: 500 m, 300 s).
Harsh and overspeed counts come from the alerts the other rules emitted for the same fix.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from contracts import alert as A
from contracts.telemetry import Telemetry
from contracts.trip import Trip

from .config import FleetSettings
from .evolve import evolve
from .geo import haversine_m
from .idle import engine_on
from .scoring import EVENT_KEYS, safety_score

COUNTED = {A.HARSH_BRAKING: "harsh_braking", A.HARSH_ACCELERATION: "harsh_acceleration",
           A.HARSH_CORNERING: "harsh_cornering", A.OVERSPEED: "overspeed"}


@dataclass(frozen=True)
class TripAcc:
    start_ts: int
    start_lat: float
    start_lon: float
    end_ts: int
    end_lat: float
    end_lon: float
    distance_m: float = 0.0
    max_speed_kmh: float = 0.0
    idle_ms: int = 0
    events: tuple[tuple[str, int], ...] = tuple((k, 0) for k in EVENT_KEYS)


@dataclass(frozen=True)
class TripState:
    trip: TripAcc | None = None
    at_stop: TripAcc | None = None  # the trip as it was when the current stop began
    stop_since_ts: int | None = None
    last_ts: int | None = None
    last_lat: float = 0.0
    last_lon: float = 0.0
    last_moving: bool = False
    last_idling: bool = False


def _finish(acc: TripAcc | None, vid: str, fleet_id: str | None, cfg: FleetSettings) -> list[Trip]:
    if acc is None:
        return []
    duration = (acc.end_ts - acc.start_ts) / 1000
    if acc.distance_m < cfg.trip_min_distance_m or duration < cfg.trip_min_duration_s:
        return []
    km, events, idle = acc.distance_m / 1000, dict(acc.events), acc.idle_ms / 1000
    return [Trip(
        trip_id=A.make_alert_id(vid, "trip", acc.start_ts), vehicle_id=vid, fleet_id=fleet_id,
        start_ts=acc.start_ts, end_ts=acc.end_ts, start_lat=acc.start_lat, start_lon=acc.start_lon,
        end_lat=acc.end_lat, end_lon=acc.end_lon, distance_km=round(km, 3), duration_s=duration,
        max_speed_kmh=acc.max_speed_kmh, mean_speed_kmh=round(km / (duration / 3600), 1) if duration else 0.0,
        idle_s=idle, events=events, safety_score=safety_score(km, events, idle, cfg),
    )]


def _ended(state: TripState) -> TripAcc | None:
    return state.at_stop if state.at_stop is not None else state.trip


def step(state: TripState, fix: Telemetry, fleet_id: str | None, emitted: list[A.Alert], cfg: FleetSettings) -> tuple[TripState, list[Trip]]:
    """Feed one in-order fix and the alerts other rules emitted for it; return finished trips."""
    vid, ts = fix.vehicle_id, fix.ts_ms
    moving = fix.speed_kmh > cfg.trip_start_speed_kmh and fix.ignition is not False
    idling = not moving and engine_on(fix) is True
    out: list[Trip] = []
    if state.trip is not None and state.last_ts is not None and ts - state.last_ts > cfg.trip_max_gap_s * 1000:
        out += _finish(_ended(state), vid, fleet_id, cfg)
        state = replace(state, trip=None, at_stop=None, stop_since_ts=None)
    trip = state.trip
    if trip is None and moving:
        trip = TripAcc(ts, fix.lat, fix.lon, ts, fix.lat, fix.lon)
    elif trip is not None:
        seg = haversine_m(state.last_lat, state.last_lon, fix.lat, fix.lon) if (moving or state.last_moving) else 0.0
        idle_ms = trip.idle_ms + (ts - state.last_ts if state.last_idling and state.last_ts is not None else 0)
        trip = evolve(trip, distance_m=trip.distance_m + seg, idle_ms=idle_ms, end_ts=ts, end_lat=fix.lat, end_lon=fix.lon)
    if trip is not None:
        counts = dict(trip.events)
        for a in emitted:
            if a.type in COUNTED and a.state == "raised":  # an incident once, not its clear
                counts[COUNTED[a.type]] += 1
        trip = evolve(trip, max_speed_kmh=max(trip.max_speed_kmh, fix.speed_kmh), events=tuple(counts.items()))
    at_stop, stop_since = state.at_stop, state.stop_since_ts
    if moving:
        at_stop, stop_since = None, None
    elif trip is not None and stop_since is None:
        at_stop, stop_since = trip, ts
    state = TripState(trip, at_stop, stop_since, ts, fix.lat, fix.lon, moving, idling)
    if trip is not None and stop_since is not None and ts - stop_since >= cfg.trip_min_stop_s * 1000:
        out += _finish(at_stop, vid, fleet_id, cfg)
        state = replace(state, trip=None, at_stop=None, stop_since_ts=None)
    return state, out


def tick(state: TripState, vehicle_id: str, fleet_id: str | None, now_ms: int, cfg: FleetSettings) -> tuple[TripState, list[Trip]]:
    """Clock tick (``now_ms`` as an event-time bound): end a trip whose vehicle went quiet."""
    if state.trip is None or state.last_ts is None:
        return state, []
    stopped_long = state.stop_since_ts is not None and now_ms - state.stop_since_ts >= cfg.trip_min_stop_s * 1000
    if stopped_long or now_ms - state.last_ts > cfg.trip_max_gap_s * 1000:
        return replace(state, trip=None, at_stop=None, stop_since_ts=None), _finish(_ended(state), vehicle_id, fleet_id, cfg)
    return state, []
