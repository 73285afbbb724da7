"""Places instead of bare coordinates on the vehicle page and the fleet map (issue 14).

The seeded points carry coordinates only (as points written before places existed), so the pages
look them up offline. Expected names were read off GeoNames by hand for the seeded positions:
52.50, 13.40 Kreuzberg; 52.51, 13.41 Mitte; 52.52, 13.42 Berlin; the trip's route ends at
52.54, 13.42 (Prenzlauer Berg) and its 6th fix is 52.51, 13.405 (Mitte).
"""

from __future__ import annotations

import pytest

from tests.dashboard.conftest import World, open_page, sign_in, texts

pytestmark = pytest.mark.integration

KREUZBERG = "Kreuzberg, State of Berlin, DE"
MITTE = "Mitte, State of Berlin, DE"
BERLIN = "Berlin, State of Berlin, DE"
PRENZLAUER_BERG = "Prenzlauer Berg, State of Berlin, DE"


def test_vehicle_page_shows_places_of_last_fix_alerts_trips_and_replay(world: World) -> None:
    at = open_page(sign_in(world, "parent"), "pages/vehicle.py")
    assert f"At {KREUZBERG}" in texts(at)
    alerts = at.dataframe[1].value  # dtc_table, vehicle_alerts, vehicle_trips in page order
    assert list(alerts["place"]) == [KREUZBERG]
    trips = at.dataframe[2].value
    assert list(trips["start_place"]) == [KREUZBERG] and list(trips["end_place"]) == [KREUZBERG]
    assert sum(t.endswith(f"km/h · {PRENZLAUER_BERG}") for t in texts(at)) == 1  # replay at the last fix
    at.slider(key="replay_pos").set_value(5).run()
    assert sum(t.endswith(f"km/h · {MITTE}") for t in texts(at)) == 1


def test_fleet_map_table_and_selection_show_places(world: World) -> None:
    at = open_page(sign_in(world, "manager"), "pages/fleet_map.py")
    df = at.dataframe[0].value
    assert dict(zip(df["vehicle_id"], df["place"], strict=True)) == {world.v1: KREUZBERG, world.v2: MITTE}
    at.selectbox(key="map_vehicle_pick").set_value(world.v2).run()
    assert texts(at).count(f"At {MITTE}") == 1


def test_fleet_map_admin_sees_the_offline_vehicle_place(world: World) -> None:
    at = open_page(sign_in(world, "admin"), "pages/fleet_map.py")
    df = at.dataframe[0].value.set_index("vehicle_id")
    assert {world.v1: KREUZBERG, world.v2: MITTE, world.v3: BERLIN}.items() <= df["place"].to_dict().items()
