"""Where a scripted vehicle may stand, how it crosses a geofence, and when a schedule is active.

Scenarios must not trip rules they are not about: a van parked outside its depot at night
would add ``geofence_outside_allowed`` to every van scenario. ``home_of`` therefore puts a
vehicle inside its allowed zones and outside every other zone that applies to it;
``crossing`` finds a point inside and one outside a zone such that the straight path between
them crosses the border once; ``align_to_schedule`` moves a start back in time until a
zone's schedule is active for the whole scenario.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from shapely.geometry import LineString, Point

from rules.fleet.geofence_shapes import Geofence

DEFAULT_HOME = (52.5150, 13.4500)  # Friedrichshain: outside every zone of config/geofences.geojson
BORDER_MARGIN_M = 150.0
SEARCH_STEP_MS = 15 * 60_000
SEARCH_LIMIT_MS = 21 * 86_400_000


class PlaceError(ValueError):
    """No place satisfies the zones (e.g. two allowed zones that do not overlap)."""


def _lat_lon(fence: Geofence, x: float, y: float) -> tuple[float, float]:
    lon, lat = fence.projection.to_lonlat(x, y)
    return lat, lon


def home_of(fences: Mapping[str, Geofence]) -> tuple[float, float]:
    """A parking place inside the first allowed zone (by id), else ``DEFAULT_HOME``; it must be
    outside every forbidden zone and every plain zone, inside every allowed one."""
    allowed = sorted(gid for gid, f in fences.items() if f.kind == "allowed")
    if allowed:
        f = fences[allowed[0]]
        p = f.area.representative_point()
        home = _lat_lon(f, p.x, p.y)
    else:
        home = DEFAULT_HOME
    for f in fences.values():
        inside = f.contains(*home)
        if inside != (f.kind == "allowed"):
            raise PlaceError(f"no home for this vehicle: {home} is {'inside' if inside else 'outside'} zone {f.id} ({f.kind})")
    return home


def crossing(fence: Geofence) -> tuple[tuple[float, float], tuple[float, float]]:
    """((lat, lon) inside, (lat, lon) outside): ``BORDER_MARGIN_M`` either side of the border
    (or the zone's centre line for narrow zones), joined by a path crossing the border once."""
    c = fence.area.representative_point()
    reach = math.hypot(fence.area.bounds[2] - fence.area.bounds[0], fence.area.bounds[3] - fence.area.bounds[1]) + 1000
    for deg in range(90, 450, 45):
        dx, dy = math.sin(math.radians(deg)), math.cos(math.radians(deg))
        ray = LineString([(c.x, c.y), (c.x + dx * reach, c.y + dy * reach)])
        inside_part = ray.intersection(fence.area)
        if inside_part.geom_type != "LineString" or inside_part.is_empty:
            continue  # the ray leaves and re-enters the zone: try another direction
        border = inside_part.length
        d_in = max(0.0, border - BORDER_MARGIN_M)
        d_out = border + BORDER_MARGIN_M
        p_in = Point(c.x + dx * d_in, c.y + dy * d_in)
        p_out = Point(c.x + dx * d_out, c.y + dy * d_out)
        if fence.area.intersects(p_in) and not fence.area.intersects(p_out):
            return _lat_lon(fence, p_in.x, p_in.y), _lat_lon(fence, p_out.x, p_out.y)
    raise PlaceError(f"geofence {fence.id}: found no straight way out of it")


def align_to_schedule(fence: Geofence, start_ms: int, span_ms: int) -> int:
    """The latest start at or before ``start_ms`` (in 15-minute steps) at which the zone's
    schedule is active for the whole ``span_ms``; ``start_ms`` itself without a schedule."""
    if fence.schedule is None:
        return start_ms
    t = start_ms - start_ms % SEARCH_STEP_MS
    while start_ms - t <= SEARCH_LIMIT_MS:
        if all(fence.active_at(x) for x in range(t, t + span_ms + 1, 60_000)) and fence.active_at(t + span_ms):
            return t
        t -= SEARCH_STEP_MS
    raise PlaceError(f"geofence {fence.id}: schedule never active for {span_ms / 60000:.0f} min in 3 weeks")
