"""Overspeed episodes: one alert when an episode reaches the minimal duration, one closing record.

Effective limit: the geofence's (lowest active zone the vehicle is in), else the vehicle's,
else the fleet's, else the global default. The alert fires *at the fix* where the time above
the limit reaches ``overspeed_min_duration_s`` (duration 0 = the first fix above), never one
fix later. The episode ends at the first fix back at or under the limit, or when fixes are
more than ``overspeed_max_gap_s`` apart (we cannot claim the vehicle was speeding in a gap);
an alerted episode then emits ``overspeed_end`` with start, end, peak and distance.

When a zone's limit applied at the episode's start, both records name it: ``geofence_id`` and
``details.zone_name`` (and the message). The zone does not enter the alert id: an episode is
(vehicle, start) whichever limit applied, so ids stay those of a vehicle / fleet limit episode.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from contracts import alert as A
from contracts.telemetry import Telemetry

from .config import FleetSettings
from .evolve import evolve
from .geo import haversine_m


def effective_limit(geofence: float | None, vehicle: float | None, fleet: float | None, default: float | None) -> float | None:
    """First limit that is set, in the order geofence, vehicle, fleet, default."""
    for limit in (geofence, vehicle, fleet, default):
        if limit is not None:
            return limit
    return None


@dataclass(frozen=True)
class OverspeedState:
    start_ts: int | None = None  # first fix above the limit; None = no episode
    last_ts: int = 0
    last_lat: float = 0.0
    last_lon: float = 0.0
    peak_kmh: float = 0.0
    distance_m: float = 0.0
    limit_kmh: float = 0.0  # limit when the episode started
    alerted: bool = False
    severity: A.Severity = "warning"  # of the alert, for the closing record's incident
    zone: tuple[str, str] | None = None  # (geofence id, name) whose limit applied at the start


def _named(alert: A.Alert, zone: tuple[str, str] | None) -> A.Alert:
    """The alert with the zone whose limit applied; its id unchanged (see the module doc)."""
    if zone is None:
        return alert
    return replace(alert, geofence_id=zone[0], details={**alert.details, "zone_name": zone[1]})


def _in(zone: tuple[str, str] | None) -> str:
    return f" in {zone[1]}" if zone else ""


def _close(state: OverspeedState, vid: str, fleet_id: str | None, end_ts: int, lat: float, lon: float) -> list[A.Alert]:
    if state.start_ts is None or not state.alerted:
        return []
    duration = (end_ts - state.start_ts) / 1000
    return [_named(A.make_alert(
        vehicle_id=vid, fleet_id=fleet_id, type=A.OVERSPEED_END, severity="info", ts=end_ts, episode_ts=state.start_ts,
        value=state.peak_kmh, threshold=state.limit_kmh, lat=lat, lon=lon,
        message=f"{vid} overspeed ended: peak {state.peak_kmh:.0f} km/h over limit {state.limit_kmh:.0f} km/h{_in(state.zone)} "
                f"for {duration:.0f} s and {state.distance_m / 1000:.2f} km",
        details={"start_ts": state.start_ts, "end_ts": end_ts, "duration_s": duration, "peak_kmh": state.peak_kmh,
                 "distance_m": round(state.distance_m, 1), "limit_kmh": state.limit_kmh,
                 "incident_severity": state.severity},
        state="cleared", incident_id=A.make_alert_id(vid, A.OVERSPEED, state.start_ts, None),
    ), state.zone)]


def step(state: OverspeedState, fix: Telemetry, fleet_id: str | None, limit_kmh: float | None, cfg: FleetSettings,
         since_ts: int | None = None, zone: tuple[str, str] | None = None) -> tuple[OverspeedState, list[A.Alert]]:
    """Feed one in-order fix with its effective limit; return new state and alerts.

    ``zone``: (id, name) of the geofence whose limit ``limit_kmh`` is, None for any other limit.

    ``since_ts``: the limit applied before this fix and the vehicle was above it since then (a
    zone whose entry this fix confirmed: geofences.limit_since); a new episode starts there."""
    vid, ts = fix.vehicle_id, fix.ts_ms
    out: list[A.Alert] = []
    if state.start_ts is not None and ts - state.last_ts > cfg.overspeed_max_gap_s * 1000:
        out += _close(state, vid, fleet_id, state.last_ts, state.last_lat, state.last_lon)
        state = OverspeedState()
    over = limit_kmh is not None and fix.speed_kmh > limit_kmh + cfg.overspeed_tolerance_kmh
    if not over:
        if state.start_ts is not None:  # an episode ends here (most fixes have none open: nothing to close)
            segment = haversine_m(state.last_lat, state.last_lon, fix.lat, fix.lon)
            out += _close(replace(state, distance_m=state.distance_m + segment), vid, fleet_id, ts, fix.lat, fix.lon)
        return OverspeedState(last_ts=ts, last_lat=fix.lat, last_lon=fix.lon), out
    assert limit_kmh is not None
    if state.start_ts is None:
        start_ts = min(ts, since_ts or ts)
        state = OverspeedState(start_ts=start_ts, peak_kmh=fix.speed_kmh, limit_kmh=limit_kmh, zone=zone)
    else:
        start_ts = state.start_ts
        state = evolve(state, peak_kmh=max(state.peak_kmh, fix.speed_kmh),
                        distance_m=state.distance_m + haversine_m(state.last_lat, state.last_lon, fix.lat, fix.lon))
    state = evolve(state, last_ts=ts, last_lat=fix.lat, last_lon=fix.lon)
    if not state.alerted and ts - start_ts >= cfg.overspeed_min_duration_s * 1000:
        excess = fix.speed_kmh - limit_kmh
        state = replace(state, alerted=True, severity="critical" if excess >= cfg.overspeed_critical_over_kmh else "warning")
        out.append(_named(A.make_alert(
            vehicle_id=vid, fleet_id=fleet_id, type=A.OVERSPEED, ts=ts, episode_ts=start_ts,
            severity=state.severity,
            value=fix.speed_kmh, threshold=limit_kmh, lat=fix.lat, lon=fix.lon,
            message=f"{vid} at {fix.speed_kmh:.0f} km/h, limit {limit_kmh:.0f} km/h{_in(state.zone)}, "
                    f"for {(ts - start_ts) / 1000:.0f} s",
            details={"start_ts": start_ts, "duration_s": (ts - start_ts) / 1000},
        ), state.zone))
    return state, out
