"""The pages' place column: the stored place, else the offline lookup, else blank."""

from __future__ import annotations

import pandas as pd

from dashboard.places import place_labels, with_alert_place, with_trip_places


def test_stored_place_wins_then_lookup_then_blank() -> None:
    df = pd.DataFrame({"place": ["Stored, X, DE", None, None, ""],
                       "lat": [48.8566, 48.8566, None, float("nan")], "lon": [2.3522, 2.3522, 1.0, 2.0]})
    assert list(place_labels(df, "place", "lat", "lon")) == ["Stored, X, DE", "Paris, Île-de-France, FR", "", ""]


def test_old_points_without_place_columns() -> None:
    trips = pd.DataFrame({"start_lat": [40.7128], "start_lon": [-74.006], "end_lat": [52.52], "end_lon": [13.405]})
    placed = with_trip_places(trips)
    assert list(placed["start_place"]) == ["New York City, New York, US"]
    assert list(placed["end_place"]) == ["Mitte, State of Berlin, DE"]
    assert list(with_alert_place(pd.DataFrame({"lat": [], "lon": []}))["place"]) == []
