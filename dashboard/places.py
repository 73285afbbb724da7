"""Place labels for the pages: the stored place, else the offline lookup of the coordinates.

Points written before places existed (issue 14) have only coordinates; the lookup is offline and
cached (rules/fleet/places.py), so the pages show a place for them too instead of bare numbers.
"""

from __future__ import annotations

import math

import pandas as pd

from settings.geodata import place_index


def _number(v: object) -> float | None:
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def place_labels(df: pd.DataFrame, place_col: str, lat_col: str, lon_col: str) -> pd.Series:
    """One label per row of ``df``: ``place_col`` when stored, else the place of (lat, lon), else ""."""
    if df.empty:
        return pd.Series([], index=df.index, dtype=object)
    stored = df[place_col] if place_col in df.columns else pd.Series([None] * len(df), index=df.index)
    lats = df[lat_col] if lat_col in df.columns else pd.Series([None] * len(df), index=df.index)
    lons = df[lon_col] if lon_col in df.columns else pd.Series([None] * len(df), index=df.index)
    out = [place if isinstance(place, str) and place else position_place(lat, lon)
           for place, lat, lon in zip(stored, lats, lons, strict=True)]
    return pd.Series(out, index=df.index, dtype=object)


def position_place(lat: object, lon: object) -> str:
    """The place of one position ("City, Region, CC"), "" without a usable one: for the pages' text lines."""
    la, lo = _number(lat), _number(lon)
    return (place_index().label(la, lo) or "") if la is not None and lo is not None else ""


def with_trip_places(trips: pd.DataFrame) -> pd.DataFrame:
    """``trips`` with ``start_place`` / ``end_place`` filled for every row."""
    out = trips.copy()
    out["start_place"] = place_labels(trips, "start_place", "start_lat", "start_lon")
    out["end_place"] = place_labels(trips, "end_place", "end_lat", "end_lon")
    return out


def with_alert_place(alerts: pd.DataFrame) -> pd.DataFrame:
    """``alerts`` with ``place`` filled for every row."""
    out = alerts.copy()
    out["place"] = place_labels(alerts, "place", "lat", "lon")
    return out
