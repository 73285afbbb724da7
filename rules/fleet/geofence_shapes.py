"""Geofences from GeoJSON: polygon, circle (Point + ``radius_m``), corridor (LineString + ``width_m``).

Properties: ``id`` (required, unique), ``name``, ``kind`` = ``allowed`` (alert when outside),
``forbidden`` (alert when inside) or ``zone`` (no violation: enter / exit and speed limit only,
e.g. a roadworks corridor), optional ``speed_limit_kmh``, ``vehicles`` / ``fleets``
(lists of ids it applies to; both absent = every vehicle), optional ``margin_m`` (metres of
GPS drift ignored at the edge, geofences.py), optional ``schedule`` (see
schedule.py), optional ``check_segments`` (default true for ``forbidden`` zones: the straight
segment between two fixes is tested against the zone, segment_crossing.py). Shapes are projected
to metres around their own centre, so a circle is round and a corridor has its width in metres. Every error names the file and the feature.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal, overload

import numpy as np
import shapely
import shapely.validation
from shapely.geometry import LineString, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

from .geo import LocalProjection
from .schedule import ScheduleError, WeeklySchedule, parse_schedule

BOX_SLACK_M = 0.001  # a point must be this much farther outside the bounding box than asked (float safety)

Kind = Literal["allowed", "forbidden", "zone"]
Shape = Literal["polygon", "circle", "corridor"]


class GeofenceError(ValueError):
    """Bad geofence definition; the message names where (file, feature index, id)."""


@dataclass(frozen=True)
class Geofence:
    id: str
    name: str
    kind: Kind
    shape: Shape
    area: BaseGeometry  # in the metres of ``projection``
    projection: LocalProjection
    speed_limit_kmh: float | None = None
    vehicles: frozenset[str] = frozenset()
    fleets: frozenset[str] = frozenset()
    schedule: WeeklySchedule | None = None
    margin_m: float | None = None  # drift margin of geofences.py; None = FleetSettings.geofence_margin_m
    check_segments: bool = False  # test the segment between two fixes (segment_crossing.py)
    # The GeoJSON Feature it was parsed from: what the dashboard draws and publishes again.
    feature: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def contains(self, lat: float, lon: float) -> bool:
        """Inside or on the border (the border counts as inside)."""
        x, y = self.projection.to_xy(lon, lat)
        return bool(self.area.intersects(Point(x, y)))

    def depth_m(self, lat: float, lon: float) -> float:
        """Signed distance to the edge in metres: positive inside (border = 0), negative outside."""
        p = Point(*self.projection.to_xy(lon, lat))
        edge = float(self._edge.distance(p))
        return edge if self.area.intersects(p) else -edge

    def depth_or_far(self, lat: float, lon: float, far_m: float) -> float:
        """``depth_m``; but a point more than ``far_m`` outside the shape's bounding box gets minus
        its distance to the box instead. That is a lower bound of its distance to the shape, so
        the sign and "at least ``far_m`` beyond the edge" are the same as ``depth_m``'s - all the
        dwell of geofences.py asks - without building a shapely Point: most fixes are far from
        most zones (issue 11)."""
        x, y = self.projection.to_xy(lon, lat)
        minx, miny, maxx, maxy = self._box
        out = math.hypot(max(minx - x, 0.0, x - maxx), max(miny - y, 0.0, y - maxy))
        if out > far_m + BOX_SLACK_M:
            return -out
        p = Point(x, y)
        edge = float(self._edge.distance(p))
        return edge if self.area.intersects(p) else -edge

    def box_misses(self, x0: float, y0: float, x1: float, y1: float) -> bool:
        """The segment (x0, y0) - (x1, y1), in this zone's metres, cannot touch the zone: its
        bounding box is apart from the zone's."""
        minx, miny, maxx, maxy = self._box
        s = BOX_SLACK_M
        return max(x0, x1) < minx - s or min(x0, x1) > maxx + s or max(y0, y1) < miny - s or min(y0, y1) > maxy + s

    @cached_property
    def _edge(self) -> BaseGeometry:
        """The boundary, built once (``area.boundary`` makes a new geometry per call)."""
        return self.area.boundary

    @cached_property
    def _box(self) -> tuple[float, float, float, float]:
        minx, miny, maxx, maxy = self.area.bounds
        return float(minx), float(miny), float(maxx), float(maxy)

    def applies_to(self, vehicle_id: str, fleet_id: str | None) -> bool:
        if not self.vehicles and not self.fleets:
            return True
        return vehicle_id in self.vehicles or (fleet_id is not None and fleet_id in self.fleets)

    def active_at(self, ts_ms: int) -> bool:
        return self.schedule is None or self.schedule.active_at(ts_ms)


@overload
def _positive(props: dict[str, Any], key: str, required: Literal[True]) -> float: ...
@overload
def _positive(props: dict[str, Any], key: str, required: Literal[False]) -> float | None: ...
def _positive(props: dict[str, Any], key: str, required: bool) -> float | None:
    value = props.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"property {key} must be a positive number (got {value!r})")
    return float(value)


def _non_negative(props: dict[str, Any], key: str) -> float | None:
    value = props.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"property {key} must be a number >= 0 (got {value!r})")
    return float(value)


def _id_list(props: dict[str, Any], key: str) -> frozenset[str]:
    value = props.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"property {key} must be a list of ids")
    return frozenset(value)


def _build(feature: Any) -> Geofence:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise ValueError("is not a GeoJSON Feature")
    props = feature.get("properties")
    if not isinstance(props, dict):
        raise ValueError("has no properties object")
    gid = props.get("id")
    if not isinstance(gid, str) or not gid:
        raise ValueError("property id must be a non-empty string")
    kind = props.get("kind")
    if kind not in ("allowed", "forbidden", "zone"):
        raise ValueError(f"property kind must be 'allowed', 'forbidden' or 'zone' (got {kind!r})")
    try:
        geom = shapely.geometry.shape(feature.get("geometry") or {})
    except Exception as exc:  # shapely raises several types for bad GeoJSON
        raise ValueError(f"geometry is not valid GeoJSON: {exc}") from None
    if geom.is_empty:
        raise ValueError("geometry is empty")
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise ValueError("coordinates must be [lon, lat] in degrees")
    proj = LocalProjection(lat0=(miny + maxy) / 2, lon0=(minx + maxx) / 2)
    local = shapely.transform(geom, lambda xy: np.column_stack(proj.to_xy(xy[:, 0], xy[:, 1])))
    shape: Shape
    if isinstance(geom, (Polygon, MultiPolygon)):
        if not geom.is_valid:
            raise ValueError(f"polygon is invalid: {shapely.validation.explain_validity(geom)}")
        shape, area = "polygon", local
    elif isinstance(geom, Point):
        shape, area = "circle", local.buffer(_positive(props, "radius_m", True), quad_segs=32)
    elif isinstance(geom, LineString):
        shape, area = "corridor", local.buffer(_positive(props, "width_m", True) / 2, quad_segs=16)
    else:
        raise ValueError(f"geometry {geom.geom_type} is not Polygon, MultiPolygon, Point (circle) or LineString (corridor)")
    schedule = None
    if props.get("schedule") is not None:
        try:
            schedule = parse_schedule(props["schedule"])
        except ScheduleError as exc:
            raise ValueError(str(exc)) from None
    check_segments = props.get("check_segments", kind == "forbidden")
    if not isinstance(check_segments, bool):
        raise ValueError(f"property check_segments must be true or false (got {check_segments!r})")
    shapely.prepare(area)
    return Geofence(
        id=gid, name=str(props.get("name") or gid), kind=kind, shape=shape, area=area, projection=proj,
        speed_limit_kmh=_positive(props, "speed_limit_kmh", False),
        vehicles=_id_list(props, "vehicles"), fleets=_id_list(props, "fleets"), schedule=schedule,
        margin_m=_non_negative(props, "margin_m"),
        check_segments=check_segments, feature=feature,
    )


def parse_feature(feature: Any, where: str) -> Geofence:
    """One GeoJSON Feature -> Geofence; ``where`` (file and index, or Kafka key) prefixes errors."""
    try:
        return _build(feature)
    except ValueError as exc:
        fid = feature.get("properties", {}).get("id") if isinstance(feature, dict) and isinstance(feature.get("properties"), dict) else None
        raise GeofenceError(f"{where}{f' (id {fid!r})' if fid else ''}: {exc}") from None


def parse_collection(doc: Any, source: str) -> dict[str, Geofence]:
    """A FeatureCollection -> {id: Geofence}; ids must be unique."""
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        raise GeofenceError(f"{source}: not a GeoJSON FeatureCollection with a features list")
    fences: dict[str, Geofence] = {}
    for i, feature in enumerate(doc["features"]):
        fence = parse_feature(feature, f"{source}: feature #{i}")
        if fence.id in fences:
            raise GeofenceError(f"{source}: feature #{i}: duplicate id {fence.id!r}")
        fences[fence.id] = fence
    return fences

