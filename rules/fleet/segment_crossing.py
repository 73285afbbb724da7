"""A zone crossed between two fixes (Traccar's segment check): enter and exit, estimated.

With a sparse reporting interval a vehicle can pass through a small zone between two fixes that
are both outside it; the dwell of geofences.py never sees it inside. For zones with
``check_segments`` (default on for ``forbidden`` zones) the straight segment between two
consecutive in-order fixes - both outside, the zone's confirmed state outside, at most
``geofence_segment_max_gap_s`` apart - is tested against the zone's prepared shape (shapely,
in the zone's own metres). A hit raises ``geofence_enter`` and ``geofence_exit`` stamped (in
``details.crossed_at_ts``, and as the episode time of their ids) with the times interpolated at
the first and last point of the segment inside the zone, at constant speed; a forbidden zone
whose schedule is active at the entry also raises ``geofence_inside_forbidden``.

GPS drift is no crossing (docs/alerts.md, Geofences and GPS drift): a stationary vehicle (ignition
off, or at most ``idle_speed_kmh``) crosses nothing, and the segment must reach at least the
zone's margin (``geofences.margin_for``) inside, so two wandering fixes of a car parked by a
zone's corner do not clip it.
"""

from __future__ import annotations

from collections.abc import Mapping

from shapely.geometry import LineString, Point

from contracts import alert as A
from contracts.telemetry import Telemetry

from .config import FleetSettings
from .geofence_shapes import Geofence
from .geofences import FenceTrack, margin_for


def _crossing(fence: Geofence, prev: tuple[int, float, float], fix: Telemetry) -> tuple[float, float] | None:
    """Fractions of the segment prev -> fix where it enters and leaves the zone, or None."""
    seg = LineString([fence.projection.to_xy(prev[2], prev[1]), fence.projection.to_xy(fix.lon, fix.lat)])
    if seg.length == 0 or not fence.area.intersects(seg):
        return None
    inside = fence.area.intersection(seg)
    coords = [c for part in getattr(inside, "geoms", [inside]) for c in part.coords]
    if not coords:
        return None
    along = [seg.project(Point(c)) / seg.length for c in coords]
    return min(along), max(along)


def _depth_m(fence: Geofence, prev: tuple[int, float, float], fix: Telemetry, hit: tuple[float, float], n: int = 8) -> float:
    """How far inside the zone the segment's part between the fractions ``hit`` reaches (sampled)."""
    lat0, lon0 = prev[1], prev[2]
    fracs = [hit[0] + (hit[1] - hit[0]) * i / n for i in range(n + 1)]
    return max(fence.depth_m(lat0 + f * (fix.lat - lat0), lon0 + f * (fix.lon - lon0)) for f in fracs)


def step(prev: tuple[int, float, float] | None, fix: Telemetry, fleet_id: str | None, fences: Mapping[str, Geofence],
         tracks: Mapping[str, FenceTrack], cfg: FleetSettings) -> list[A.Alert]:
    """``prev`` = (ts, lat, lon) of the previous in-order fix; ``tracks`` = the geofence state after this fix."""
    if prev is None or not 0 < fix.ts_ms - prev[0] <= cfg.geofence_segment_max_gap_s * 1000:
        return []
    if fix.ignition is False or fix.speed_kmh <= cfg.idle_speed_kmh:
        return []  # standing: the segment between two fixes is drift, not a drive
    out: list[A.Alert] = []
    vid, (t0, lat0, lon0), dt = fix.vehicle_id, prev, fix.ts_ms - prev[0]
    for gid, fence in fences.items():
        track = tracks.get(gid)
        if not fence.check_segments or track is None or track.inside is not False or track.candidate is not None:
            continue  # this fix is not confirmed outside (the dwell handles what it sees inside)
        if fence.box_misses(*fence.projection.to_xy(lon0, lat0), *fence.projection.to_xy(fix.lon, fix.lat)):
            continue  # apart from the zone's bounding box: no crossing, no shapely call (issue 11)
        if fence.contains(lat0, lon0):
            continue
        hit = _crossing(fence, prev, fix)
        if hit is None or _depth_m(fence, prev, fix, hit) < margin_for(fence, fix, cfg):
            continue
        between = {"between_ts": [t0, fix.ts_ms], "estimated": True, "kind": fence.kind}
        for kind, verb, frac in ((A.GEOFENCE_ENTER, "entered", hit[0]), (A.GEOFENCE_EXIT, "left", hit[1])):
            at = t0 + round(frac * dt)
            lat, lon = lat0 + frac * (fix.lat - lat0), lon0 + frac * (fix.lon - lon0)
            out.append(A.make_alert(type=kind, severity="info", episode_ts=at, lat=round(lat, 7), lon=round(lon, 7),
                                    message=f"{vid} {verb} {fence.name} between two fixes (estimated)",
                                    details={"crossed_at_ts": at, **between},
                                    vehicle_id=vid, fleet_id=fleet_id, ts=fix.ts_ms, geofence_id=gid))
            if kind == A.GEOFENCE_ENTER and fence.kind == "forbidden" and fence.active_at(at):
                out.append(A.make_alert(type=A.GEOFENCE_INSIDE_FORBIDDEN, severity="critical", episode_ts=at,
                                        lat=round(lat, 7), lon=round(lon, 7),
                                        message=f"{vid} crossed forbidden zone {fence.name} between two fixes",
                                        details={"crossed_at_ts": at, "scheduled": fence.schedule is not None, **between},
                                        vehicle_id=vid, fleet_id=fleet_id, ts=fix.ts_ms, geofence_id=gid))
    return out
