"""Fleet map per role: exactly the vehicles in scope, their status, geofences in scope, names as text."""

from __future__ import annotations

import pytest

from tests.dashboard.conftest import HTML_NAME, World, open_page, plotly_specs, sign_in

pytestmark = pytest.mark.integration


def fleet_rows(at) -> dict[str, str]:
    df = next(d.value for d in at.dataframe)
    return dict(zip(df["vehicle_id"], df["status"], strict=True))


def geofence_ids(at) -> set[str]:
    ids = set()
    for spec in plotly_specs(at):
        for trace in spec["data"]:
            meta = trace.get("meta") or {}
            if "geofence_id" in meta:
                ids.add(meta["geofence_id"])
    return ids


def test_parent_sees_exactly_their_one_vehicle(world: World) -> None:
    at = open_page(sign_in(world, "parent"), "pages/fleet_map.py")
    assert fleet_rows(at) == {world.v1: "moving"}
    assert geofence_ids(at) == {world.geofence_a, world.geofence_v1}


def test_manager_sees_their_fleet_only(world: World) -> None:
    at = open_page(sign_in(world, "manager"), "pages/fleet_map.py")
    assert fleet_rows(at) == {world.v1: "moving", world.v2: "alerting"}
    assert geofence_ids(at) == {world.geofence_a, world.geofence_v1}


def test_admin_sees_all_three_with_status_and_filters(world: World) -> None:
    at = open_page(sign_in(world, "admin"), "pages/fleet_map.py")
    rows = fleet_rows(at)
    assert {world.v1: "moving", world.v2: "alerting", world.v3: "offline"}.items() <= rows.items()
    assert {world.geofence_a, world.geofence_v1, world.geofence_other} <= geofence_ids(at)
    at.multiselect(key="map_fleets").set_value([world.fleet_a, world.fleet_b]).run()
    assert fleet_rows(at) == {world.v1: "moving", world.v2: "alerting", world.v3: "offline"}
    assert at.metric[0].value == "3"
    at.multiselect(key="map_status").set_value(["offline"]).run()
    assert fleet_rows(at) == {world.v3: "offline"}


def test_selection_survives_refresh_and_filtering(world: World) -> None:
    at = open_page(sign_in(world, "manager"), "pages/fleet_map.py")
    at.selectbox(key="map_vehicle_pick").set_value(world.v2).run()
    assert at.session_state["selected_vehicle"] == world.v2
    at.run()  # what the auto-refresh does
    assert at.session_state["selected_vehicle"] == world.v2
    assert at.selectbox(key="map_vehicle_pick").value == world.v2
    assert any(world.v2 in t and "alerting" in t for t in (x.value for x in at.text))
    at.multiselect(key="map_status").set_value(["moving"]).run()  # v2 filtered out of the table...
    assert at.selectbox(key="map_vehicle_pick").value == world.v2  # ...but still selected


def test_device_names_are_text_never_html(world: World) -> None:
    at = open_page(sign_in(world, "parent"), "pages/fleet_map.py")
    df = next(d.value for d in at.dataframe)
    assert list(df["name"]) == [HTML_NAME]
    assert all("<b>" not in m.value for m in at.markdown)
    labels = [t for spec in plotly_specs(at) for tr in spec["data"] for t in (tr.get("text") or []) if isinstance(t, str)]
    assert any("&lt;b&gt;Family car&lt;/b&gt;" in t for t in labels)
    assert not any("<b>" in t or "<script>" in t for t in labels)


def test_vehicle_without_fleet_tag_is_shown_to_admin_only(world: World) -> None:
    """A fix without ``fleet_id`` (vehicle in no fleet) must not break the map nor leak to managers."""
    from datetime import UTC, datetime

    from settings.stack import load_stack_settings
    from sinks.influx_points.fleet import telemetry_point
    from tests.dashboard.seed import delete_where, fix, operator_client, write

    s = load_stack_settings()
    client = operator_client(s)
    vid = f"tv0-{world.run}"
    write(client, s.influx_bucket_fleet, s.influx_org, [telemetry_point(fix(vid, datetime.now(UTC), 52.4, 13.3, 10.0))])
    try:
        import streamlit as st

        st.cache_data.clear()  # positions are cached for a couple of seconds across sessions
        at = open_page(sign_in(world, "admin"), "pages/fleet_map.py")
        df = next(d.value for d in at.dataframe).set_index("vehicle_id")
        assert df.loc[vid, "status"] == "moving" and not isinstance(df.loc[vid, "fleet_id"], str)
        at = open_page(sign_in(world, "manager"), "pages/fleet_map.py")
        assert vid not in fleet_rows(at)
    finally:
        delete_where(client, s.influx_bucket_fleet, s.influx_org, f'vehicle_id="{vid}"')
