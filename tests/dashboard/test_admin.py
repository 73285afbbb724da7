"""Fleet admin: changes reach the real Kafka topic fleet.config; test keys are deleted afterwards."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from access import fleet_config
from dashboard import live_config
from settings.stack import load_stack_settings
from tests.dashboard.conftest import World, open_page, sign_in

pytestmark = pytest.mark.integration


@pytest.fixture
def cleanup_keys() -> Iterator[list[str]]:
    """Keys a test published; tombstoned afterwards so the flows forget the test vehicles."""
    keys: list[str] = []
    yield keys
    if keys:
        live_config.publish([(k, None) for k in keys])


def latest(key: str):
    return fleet_config.read_latest(load_stack_settings().kafka_config()).get(key, "missing")


def test_admin_deactivates_a_vehicle_and_sets_its_speed_limit(world: World, cleanup_keys: list[str]) -> None:
    at = open_page(sign_in(world, "admin"), "pages/admin.py")
    table = at.dataframe[0].value.set_index("vehicle_id")
    assert {world.v1, world.v2, world.v3} <= set(table.index)
    assert table.loc[world.v3, "speed_limit_kmh"] == "80"  # as shown: other vehicles have none (empty cells)
    at.selectbox(key="admin_vehicle").set_value(world.v3).run()
    at.checkbox(key=f"admin_active_{world.v3}").uncheck()
    at.number_input(key=f"admin_limit_{world.v3}").set_value(70.0)
    cleanup_keys.append(fleet_config.vehicle_key(world.v3))
    next(b for b in at.button if b.label == "Publish vehicle").click().run()
    assert not at.exception and [s.value for s in at.success] == [
        f"Published vehicle:{world.v3}: active=False, speed limit=70.0"]
    assert latest(f"vehicle:{world.v3}") == {"id": world.v3, "name": "Truck 3", "fleet_id": world.fleet_b,
                                               "owner": None, "active": False, "speed_limit_kmh": 70.0,
                                               "last_service": {"oil": {"date": "2025-06-02", "odometer_km": 84000}}}
    # the page now shows the live value (fleet.config overlays the file)
    at.run()
    table = at.dataframe[0].value.set_index("vehicle_id")
    assert not bool(table.loc[world.v3, "active"]) and table.loc[world.v3, "speed_limit_kmh"] == "70"


def test_admin_uploads_geojson_and_publishes_valid_features(world: World, cleanup_keys: list[str]) -> None:
    gid, zid = f"gU-{world.run}", f"gZ-{world.run}"
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[13.0, 52.0], [13.1, 52.0], [13.1, 52.1], [13.0, 52.0]]]},
         "properties": {"id": gid, "name": "Uploaded <i>zone</i>", "kind": "forbidden", "fleets": [world.fleet_a]}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [13.0, 52.0]},
         "properties": {"id": "no-radius", "name": "bad circle", "kind": "allowed"}},
        {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[13.0, 52.0], [13.1, 52.1]]},
         "properties": {"id": zid, "name": "Roadworks", "kind": "zone", "width_m": 60, "speed_limit_kmh": 60}},
        {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[13.0, 52.0], [13.1, 52.1], [13.1, 52.0], [13.0, 52.1], [13.0, 52.0]]]},
         "properties": {"id": "bow-tie", "name": "self-intersecting", "kind": "allowed"}},
    ]}
    at = open_page(sign_in(world, "admin"), "pages/admin.py")
    at.file_uploader(key="admin_upload").upload("zones.geojson", json.dumps(doc).encode(), "application/geo+json")
    at.run()
    warnings = [w.value for w in at.warning]
    assert any("radius_m" in w for w in warnings)  # refused by the dashboard's reader
    assert any("bow-tie" in w and "invalid" in w for w in warnings)  # refused by the flows' own parser
    assert f"2 valid geofence(s): {', '.join(sorted([gid, zid]))}" in [t.value for t in at.text]
    cleanup_keys.extend([fleet_config.geofence_key(gid), fleet_config.geofence_key(zid)])
    at.button(key="admin_publish_geofences").click().run()
    assert [s.value for s in at.success] == ["Published 2 geofence(s) to fleet.config"]
    value = latest(f"geofence:{gid}")
    assert value["properties"]["name"] == "Uploaded <i>zone</i>" and value["geometry"]["type"] == "Polygon"
    assert latest(f"geofence:{zid}")["properties"]["kind"] == "zone"
    assert latest("geofence:no-radius") == "missing" and latest("geofence:bow-tie") == "missing"


def test_publish_refuses_what_the_flows_would_refuse(world: World) -> None:
    with pytest.raises(fleet_config.PublishError, match="nothing published"):
        live_config.publish([(f"vehicle:{world.v1}", {"id": world.v1, "name": "x", "colour": "red"})])
    assert latest(f"vehicle:{world.v1}") == "missing"


def test_manager_sees_published_geofence_of_their_fleet_on_the_map(world: World, cleanup_keys: list[str]) -> None:
    gid = f"gL-{world.run}"
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [13.41, 52.51]},
               "properties": {"id": gid, "name": "Live zone", "kind": "allowed", "radius_m": 200, "vehicles": [world.v2]}}
    cleanup_keys.append(fleet_config.geofence_key(gid))
    live_config.publish([(fleet_config.geofence_key(gid), feature)])
    at = open_page(sign_in(world, "manager"), "pages/fleet_map.py")
    from tests.dashboard.test_fleet_map import geofence_ids
    assert gid in geofence_ids(at)
    at = open_page(sign_in(world, "parent"), "pages/fleet_map.py")  # v2 is not the parent's car
    assert gid not in geofence_ids(at)


def test_admin_sets_a_fleets_country_region_and_time_zone(world: World) -> None:
    """The fleet form's lists follow the country; the published fleet presets the Reports page's days."""
    from settings.geodata import all_time_zones

    at = open_page(sign_in(world, "admin"), "pages/admin.py")
    fleets = at.dataframe[1].value.set_index("fleet_id")
    assert {world.fleet_a, world.fleet_b} <= set(fleets.index) and fleets.loc[world.fleet_b, "country"] == ""
    at.selectbox(key="admin_fleet").set_value(world.fleet_b).run()
    b = world.fleet_b
    assert at.selectbox(key=f"admin_region_{b}_").options == ["none"]
    assert len(at.selectbox(key=f"admin_tz_{b}_").options) == len(all_time_zones()) + 1 == 600  # no country: every zone
    at.selectbox(key=f"admin_country_{b}").set_value("DE").run()
    assert len(at.selectbox(key=f"admin_region_{b}_DE").options) == 17  # none + the 16 Länder
    assert at.selectbox(key=f"admin_tz_{b}_DE").options == ["none (UTC)", "Europe/Berlin", "Europe/Busingen"]
    at.selectbox(key=f"admin_region_{b}_DE").set_value("DE-BE")
    at.selectbox(key=f"admin_tz_{b}_DE").set_value("Europe/Berlin")
    try:
        at.button(key="admin_publish_fleet").click().run()
        assert not at.exception and [s.value for s in at.success] == [
            f"Published fleet:{b}: country=DE, region=DE-BE, time zone=Europe/Berlin"]
        assert latest(f"fleet:{b}") == {"id": b, "name": "Fleet B", "country": "DE", "region": "DE-BE", "timezone": "Europe/Berlin"}
        at.run()
        shown = at.dataframe[1].value.set_index("fleet_id").loc[b]
        assert (shown["country"], shown["region"], shown["timezone"]) == ("DE", "DE-BE", "Europe/Berlin")
        # Reports: v3 alone (fleet B) presets Germany / Berlin; all vehicles (two fleets) UTC
        at = open_page(sign_in(world, "admin"), "pages/reports.py")
        assert (at.selectbox(key="reports_country").value, at.selectbox(key="reports_tz").value) == ("", "UTC")
        v3 = next(o for o in at.multiselect(key="reports_vehicles").options if world.v3 in o)
        at.multiselect(key="reports_vehicles").set_value([v3]).run()
        assert (at.selectbox(key="reports_country").value, at.selectbox(key="reports_tz").value) == ("DE", "Europe/Berlin")
    finally:
        live_config.publish([(f"fleet:{b}", None)])  # tombstoned: the file's entry again, and nothing left in fleet.config
