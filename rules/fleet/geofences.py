"""Geofence enter / exit and violations, per vehicle, robust against GPS drift.

A fix counts for a zone's other side only when it is at least the zone's margin M beyond the
edge (``margin_m``, default ``geofence_margin_m``; a fix reporting its accuracy widens it, see
``margin_for``); fixes in the band of +-M around the edge count for neither side. A new
inside/outside state is confirmed when ``geofence_dwell_samples`` fixes at least M beyond the
edge were seen and ``geofence_dwell_s`` passed since the crossing (the first fix on the new side
of the edge, ``crossed_at_ts``); a fix at least M back on the old side resets it. A stationary
vehicle (ignition off, or at most ``idle_speed_kmh`` for ``geofence_stationary_s``) cannot change
its confirmed state: a candidate is confirmed only if the vehicle moved during it, so a parked
car's wandering position crosses nothing. Enter / exit are facts and are emitted whether or not
the schedule is active (the first confirmed state of a vehicle emits none: it did not cross
anything we saw). The schedule gates the rule: a violation (outside an ``allowed`` zone,
inside a ``forbidden`` one) is alerted once per episode while the schedule is active; the
episode ends when the state or the schedule changes. The zone's speed limit also applies only
while active, and from the crossing (``limit_since``), not from the confirmation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from contracts import alert as A
from contracts.telemetry import Telemetry

from .config import FleetSettings
from .geofence_shapes import Geofence

UERE_M = 5.0  # typical user-equivalent range error of consumer GPS: hdop x UERE ~ 1-sigma horizontal error


@dataclass(frozen=True)
class FenceTrack:
    """Presence of one vehicle in one geofence."""

    inside: bool | None = None  # confirmed state; None until the first confirmation
    candidate: bool | None = None  # the other side, being watched since ``candidate_since_ts``
    candidate_since_ts: int = 0  # the crossing: first fix on the candidate side of the edge
    candidate_count: int = 0  # fixes at least the margin beyond the edge
    candidate_moved: bool = False  # the vehicle was not stationary during the candidate
    over_since_ts: int | None = None  # entering a zone with a limit: first fix of the run above it
    confirmed_ts: int | None = None  # fix that confirmed the current state
    limit_since_ts: int | None = None  # over_since_ts at the confirmation (overspeed starts there)
    violation_since_ts: int | None = None


@dataclass(frozen=True)
class GeofenceState:
    tracks: Mapping[str, FenceTrack] = field(default_factory=dict)
    still_since_ts: int | None = None  # first fix of the current run at or under idle_speed_kmh


def margin_for(fence: Geofence, fix: Telemetry, cfg: FleetSettings) -> float:
    """The zone's margin in metres, at least twice the fix's reported 1-sigma error (~95 %)."""
    margin = fence.margin_m if fence.margin_m is not None else cfg.geofence_margin_m
    sigma = fix.accuracy_m if fix.accuracy_m is not None else (fix.hdop * UERE_M if fix.hdop is not None else 0.0)
    return max(margin, 2 * sigma)


def stationary(state: GeofenceState, fix: Telemetry, cfg: FleetSettings) -> tuple[int | None, bool]:
    """(new still_since_ts, whether the vehicle stands still at this fix)."""
    still = state.still_since_ts if fix.speed_kmh <= cfg.idle_speed_kmh else None
    if still is None and fix.speed_kmh <= cfg.idle_speed_kmh:
        still = fix.ts_ms
    standing = fix.ignition is False or (still is not None and fix.ts_ms - still >= cfg.geofence_stationary_s * 1000)
    return still, standing


def _advance(track: FenceTrack, depth_m: float, margin: float, standing: bool, over: bool, ts: int,
             cfg: FleetSettings) -> tuple[FenceTrack, bool]:
    """Update the candidate with a fix ``depth_m`` inside the edge (negative = outside);
    return (track, whether the confirmed state just changed)."""
    side = depth_m >= 0
    if side == track.inside:  # on the confirmed side of the edge: any candidate ends
        if track.candidate is None:
            return track, False
        return replace(track, candidate=None, candidate_count=0, candidate_moved=False, over_since_ts=None), False
    if track.candidate != side:  # the crossing (or, before any confirmation, a flip)
        track = replace(track, candidate=side, candidate_since_ts=ts, candidate_count=0, candidate_moved=False, over_since_ts=None)
    over_since = (track.over_since_ts if track.over_since_ts is not None else ts) if over else None
    track = replace(track, candidate_count=track.candidate_count + (abs(depth_m) >= margin), over_since_ts=over_since,
                    candidate_moved=track.candidate_moved or not standing)
    may_change = track.inside is None or track.candidate_moved
    if may_change and track.candidate_count >= cfg.geofence_dwell_samples and ts - track.candidate_since_ts >= cfg.geofence_dwell_s * 1000:
        return replace(track, inside=side, candidate=None, candidate_count=0, candidate_moved=False, confirmed_ts=ts,
                       limit_since_ts=track.over_since_ts if side else None, over_since_ts=None), True
    return track, False


_NO_TRACK = FenceTrack()  # a zone without a track yet (immutable: shared, not built per zone and fix)


def _common(fix: Telemetry, fleet_id: str | None, gid: str) -> dict[str, Any]:
    """The fields every geofence alert of this fix and zone carries (built only for an alert)."""
    return dict(vehicle_id=fix.vehicle_id, fleet_id=fleet_id, ts=fix.ts_ms, lat=fix.lat, lon=fix.lon, geofence_id=gid)


def step(
    state: GeofenceState, fix: Telemetry, fleet_id: str | None, fences: Mapping[str, Geofence], cfg: FleetSettings
) -> tuple[GeofenceState, list[A.Alert]]:
    """Feed one in-order fix; return the new state and the alerts it confirmed."""
    out: list[A.Alert] = []
    tracks: dict[str, FenceTrack] = {}
    vid, ts = fix.vehicle_id, fix.ts_ms
    still, standing = stationary(state, fix, cfg)
    for gid, fence in fences.items():
        if not fence.applies_to(vid, fleet_id):
            continue
        before = state.tracks.get(gid, _NO_TRACK)
        over = fence.speed_limit_kmh is not None and fix.speed_kmh > fence.speed_limit_kmh + cfg.overspeed_tolerance_kmh
        margin = margin_for(fence, fix, cfg)
        # only the side and "beyond the margin" matter to _advance: far from the zone, its bounding box says both
        track, changed = _advance(before, fence.depth_or_far(fix.lat, fix.lon, margin), margin, standing, over, ts, cfg)
        if changed and before.inside is not None:
            kind = A.GEOFENCE_ENTER if track.inside else A.GEOFENCE_EXIT
            verb = "entered" if track.inside else "left"
            since = before.candidate_since_ts if before.candidate == track.inside else ts
            out.append(A.make_alert(type=kind, severity="info", episode_ts=since, message=f"{vid} {verb} {fence.name}",
                                    details={"crossed_at_ts": since, "kind": fence.kind}, **_common(fix, fleet_id, gid)))
        # the schedule is read only when it decides something: a violation that may start, or one open
        may_violate = track.inside is not None and fence.kind != "zone" and (track.inside if fence.kind == "forbidden" else not track.inside)
        if not may_violate and track.violation_since_ts is None:
            tracks[gid] = track
            continue
        active = fence.active_at(ts)
        violating = active and may_violate
        common = _common(fix, fleet_id, gid)
        if violating and track.violation_since_ts is None:
            track = replace(track, violation_since_ts=ts)
            if fence.kind == "forbidden":
                kind, msg = A.GEOFENCE_INSIDE_FORBIDDEN, f"{vid} is inside forbidden zone {fence.name}"
            else:
                kind, msg = A.GEOFENCE_OUTSIDE_ALLOWED, f"{vid} is outside allowed zone {fence.name}"
            out.append(A.make_alert(type=kind, severity="critical", episode_ts=ts, message=msg,
                                    details={"kind": fence.kind, "scheduled": fence.schedule is not None}, **common))
        elif not violating and track.violation_since_ts is not None:
            kind = A.GEOFENCE_INSIDE_FORBIDDEN if fence.kind == "forbidden" else A.GEOFENCE_OUTSIDE_ALLOWED
            since = track.violation_since_ts
            why = "schedule ended for" if not active else ("left forbidden zone" if fence.kind == "forbidden" else "is back in allowed zone")
            out.append(A.make_alert(type=kind, severity="info", episode_ts=since, id_parts=("cleared",), message=f"{vid} {why} {fence.name}",
                                    details={"kind": fence.kind, "incident_severity": "critical", "start_ts": since}, state="cleared",
                                    incident_id=A.make_alert_id(vid, kind, since, gid), **common))
            track = replace(track, violation_since_ts=None)
        tracks[gid] = track
    return GeofenceState(tracks, still), out


def speed_limit(state: GeofenceState, fences: Mapping[str, Geofence], ts_ms: int) -> float | None:
    """Lowest limit of the active zones the vehicle is (confirmed) inside, or None."""
    limits = [
        f.speed_limit_kmh for gid, f in fences.items()
        if f.speed_limit_kmh is not None and state.tracks.get(gid, _NO_TRACK).inside and f.active_at(ts_ms)
    ]
    return min(limits) if limits else None


def limiting_zone(state: GeofenceState, fences: Mapping[str, Geofence], ts_ms: int) -> Geofence | None:
    """The zone whose limit ``speed_limit`` returns (lowest; on a tie the first id), or None."""
    zones = [
        f for gid, f in sorted(fences.items())
        if f.speed_limit_kmh is not None and state.tracks.get(gid, _NO_TRACK).inside and f.active_at(ts_ms)
    ]
    return min(zones, key=lambda f: f.speed_limit_kmh or 0.0) if zones else None


def limit_since(state: GeofenceState, fences: Mapping[str, Geofence], ts_ms: int) -> int | None:
    """When an entry confirmed at this fix put the vehicle under a zone limit it was already
    above since the crossing: the first fix above it (an overspeed episode starts there)."""
    limit = speed_limit(state, fences, ts_ms)
    starts = [t.limit_since_ts for gid, t in state.tracks.items()
              if gid in fences and t.confirmed_ts == ts_ms and t.inside and t.limit_since_ts is not None
              and fences[gid].speed_limit_kmh == limit]
    return min(starts) if starts else None


def zones_inside(state: GeofenceState) -> list[str]:
    """Ids of the geofences the vehicle is confirmed inside (for enrichment and storage)."""
    return sorted(gid for gid, t in state.tracks.items() if t.inside)
