"""Reports page per role on the seeded world: scoped vehicle choices, the summary built from the
stored trips / alerts / fixes, and the three download buttons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.dashboard.conftest import World, open_page, sign_in

pytestmark = pytest.mark.integration

TABLES = ["summary_vehicles", "summary_drivers", "trips", "stops", "events"]


def build(at, days: tuple) -> dict:
    at.date_input(key="reports_days").set_value(days).run()
    at.button(key="reports_build").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return {name: at.dataframe[i].value for i, name in enumerate(TABLES)}


def test_manager_builds_a_report_of_their_fleet_and_downloads_it(world: World) -> None:
    at = open_page(sign_in(world, "manager"), "pages/reports.py")
    options = at.multiselect(key="reports_vehicles").options  # labels "name (id)"
    assert len(options) == 2 and any(world.v1 in o for o in options) and any(world.v2 in o for o in options)
    assert [i.value for i in at.info] == ["Choose vehicles and days, then build the report."]
    today = datetime.now(UTC).date()
    t = build(at, (today - timedelta(days=1), today))
    per_vehicle = t["summary_vehicles"].groupby("vehicle_id").agg({"trips": "sum", "distance_km": "sum", "driver": "first"})
    assert per_vehicle.to_dict("index") == {world.v1: {"trips": 1, "distance_km": 12.5, "driver": "parent"},
                                            world.v2: {"trips": 1, "distance_km": 12.5, "driver": "driver-x"}}
    assert sorted(t["summary_drivers"]["driver"].unique()) == ["driver-x", "parent"]
    trips = t["trips"].set_index("vehicle_id")
    assert len(trips) == 2 and trips.loc[world.v1, "start_place"] == "Kreuzberg, State of Berlin, DE"  # seeded 52.50, 13.40
    assert trips.loc[world.v1, "duration_min"] == 20.0 and trips.loc[world.v1, "idle_min"] == 1.0
    # the stored stop before each trip (the seeded fixes never stand still for 5 minutes: none computed)
    assert sorted(t["stops"]["vehicle_id"]) == sorted([world.v1, world.v2]) and set(t["stops"]["duration_min"]) == {30.0}
    assert sorted(t["events"]["type"]) == ["coolant_high", "refuel"]
    assert at.download_button(key="reports_csv").label == "CSV (zip)"
    assert at.download_button(key="reports_xlsx").label == "Excel (XLSX)"
    assert at.download_button(key="reports_pdf").label == "PDF"


def test_parent_reports_only_their_car(world: World) -> None:
    at = open_page(sign_in(world, "parent"), "pages/reports.py")
    options = at.multiselect(key="reports_vehicles").options
    assert len(options) == 1 and world.v1 in options[0]
    today = datetime.now(UTC).date()
    t = build(at, (today - timedelta(days=1), today))
    assert set(t["trips"]["vehicle_id"]) == {world.v1}
    assert set(t["events"]["vehicle_id"]) == {world.v1}


def test_time_zone_choices_follow_the_country(world: World) -> None:
    at = open_page(sign_in(world, "manager"), "pages/reports.py")
    assert at.selectbox(key="reports_tz").options == ["UTC"]
    at.selectbox(key="reports_country").set_value("DE").run()
    assert at.selectbox(key="reports_tz").options == ["Europe/Berlin", "Europe/Busingen"]
