"""Distances on the Earth and a local metric projection for small shapes.

Geofences are a few km wide, so an equirectangular projection around the shape's own
centre is accurate to well under a metre and needs no pyproj.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class LocalProjection:
    """lon/lat <-> metres east/north of (lat0, lon0); good for shapes of a few tens of km."""

    lat0: float
    lon0: float

    def to_xy(self, lon: float, lat: float) -> tuple[float, float]:
        k = math.pi / 180 * EARTH_RADIUS_M
        return (lon - self.lon0) * k * math.cos(math.radians(self.lat0)), (lat - self.lat0) * k

    def to_lonlat(self, x: float, y: float) -> tuple[float, float]:
        """Inverse of ``to_xy``: metres east/north -> (lon, lat)."""
        k = math.pi / 180 * EARTH_RADIUS_M
        return self.lon0 + x / (k * math.cos(math.radians(self.lat0))), self.lat0 + y / k
