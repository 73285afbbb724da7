"""Geofence enter / exit and violations, per vehicle, with a minimal dwell against GPS jitter.

A new inside/outside state is confirmed only after it was seen in ``geofence_dwell_samples``
consecutive fixes spanning at least ``geofence_dwell_s``; a fix jumping back resets the
candidate. Enter / exit are facts and are emitted whether or not the schedule is active (the
first confirmed state of a vehicle emits none: it did not cross anything we saw). The
schedule gates the rule: a violation (outside an ``allowed`` zone, inside a ``forbidden``
one) is alerted once per episode while the schedule is active; the episode ends when the
state or the schedule changes. The zone's speed limit also applies only while active.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from contracts import alert as A
from contracts.telemetry import Telemetry

from .config import FleetSettings
from .geofence_shapes import Geofence


@dataclass(frozen=True)
class FenceTrack:
    """Presence of one vehicle in one geofence."""

    inside: bool | None = None  # confirmed state; None until the first confirmation
    candidate: bool | None = None  # a different raw state being watched
    candidate_since_ts: int = 0
    candidate_count: int = 0
    violation_since_ts: int | None = None


@dataclass(frozen=True)
class GeofenceState:
    tracks: Mapping[str, FenceTrack] = field(default_factory=dict)


def _advance(track: FenceTrack, raw: bool, ts: int, cfg: FleetSettings) -> tuple[FenceTrack, bool]:
    """Update the dwell; return (track, whether the confirmed state just changed)."""
    if raw == track.inside:
        return replace(track, candidate=None, candidate_count=0), False
    if track.candidate != raw:
        track = replace(track, candidate=raw, candidate_since_ts=ts, candidate_count=1)
    else:
        track = replace(track, candidate_count=track.candidate_count + 1)
    if track.candidate_count >= cfg.geofence_dwell_samples and ts - track.candidate_since_ts >= cfg.geofence_dwell_s * 1000:
        return replace(track, inside=raw, candidate=None, candidate_count=0), True
    return track, False


def step(
    state: GeofenceState, fix: Telemetry, fleet_id: str | None, fences: Mapping[str, Geofence], cfg: FleetSettings
) -> tuple[GeofenceState, list[A.Alert]]:
    """Feed one in-order fix; return the new state and the alerts it confirmed."""
    out: list[A.Alert] = []
    tracks: dict[str, FenceTrack] = {}
    vid, ts = fix.vehicle_id, fix.ts_ms
    for gid, fence in fences.items():
        if not fence.applies_to(vid, fleet_id):
            continue
        before = state.tracks.get(gid, FenceTrack())
        track, changed = _advance(before, fence.contains(fix.lat, fix.lon), ts, cfg)
        common = dict(vehicle_id=vid, fleet_id=fleet_id, ts=ts, lat=fix.lat, lon=fix.lon, geofence_id=gid)
        if changed and before.inside is not None:
            kind = A.GEOFENCE_ENTER if track.inside else A.GEOFENCE_EXIT
            verb = "entered" if track.inside else "left"
            since = track_since(before, track, ts)
            out.append(A.make_alert(type=kind, severity="info", episode_ts=since, message=f"{vid} {verb} {fence.name}",
                                    details={"crossed_at_ts": since, "kind": fence.kind}, **common))
        active = fence.active_at(ts)
        violating = active and track.inside is not None and fence.kind != "zone" and (track.inside if fence.kind == "forbidden" else not track.inside)
        if violating and track.violation_since_ts is None:
            track = replace(track, violation_since_ts=ts)
            if fence.kind == "forbidden":
                kind, msg = A.GEOFENCE_INSIDE_FORBIDDEN, f"{vid} is inside forbidden zone {fence.name}"
            else:
                kind, msg = A.GEOFENCE_OUTSIDE_ALLOWED, f"{vid} is outside allowed zone {fence.name}"
            out.append(A.make_alert(type=kind, severity="critical", episode_ts=ts, message=msg,
                                    details={"kind": fence.kind, "scheduled": fence.schedule is not None}, **common))
        elif not violating and track.violation_since_ts is not None:
            track = replace(track, violation_since_ts=None)
        tracks[gid] = track
    return GeofenceState(tracks), out


def track_since(before: FenceTrack, after: FenceTrack, ts: int) -> int:
    """Event time of the first fix of the newly confirmed state."""
    return before.candidate_since_ts if before.candidate == after.inside else ts


def speed_limit(state: GeofenceState, fences: Mapping[str, Geofence], ts_ms: int) -> float | None:
    """Lowest limit of the active zones the vehicle is (confirmed) inside, or None."""
    limits = [
        f.speed_limit_kmh for gid, f in fences.items()
        if f.speed_limit_kmh is not None and state.tracks.get(gid, FenceTrack()).inside and f.active_at(ts_ms)
    ]
    return min(limits) if limits else None


def zones_inside(state: GeofenceState) -> list[str]:
    """Ids of the geofences the vehicle is confirmed inside (for enrichment and storage)."""
    return sorted(gid for gid, t in state.tracks.items() if t.inside)
