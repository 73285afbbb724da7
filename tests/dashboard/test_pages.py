"""Vehicle, alerts, trips and prices pages per role: values and counts from the seeded world."""

from __future__ import annotations

import pytest

from tests.dashboard.conftest import World, open_page, plotly_specs, sign_in, values

pytestmark = pytest.mark.integration


# Tables in page order (st.dataframe keys are not exposed by AppTest for read-only tables).
ORDER = {"dtc_table": 0, "vehicle_alerts": 1, "vehicle_trips": 2, "alerts_live": 0, "incidents_open": 1, "alerts_history": 2,
         "trips_summary": 0, "trips_table": 1, "prices_exchanges": 0}


def frame(at, key: str):
    return at.dataframe[ORDER[key]].value


# ---------------------------------------------------------------- vehicle

def test_vehicle_page_for_parent_shows_only_their_car_with_health_trips_and_replay(world: World) -> None:
    at = open_page(sign_in(world, "parent"), "pages/vehicle.py")
    assert at.selectbox(key="vehicle_page_vehicle").options == [f"<b>Family car</b> <script>alert(1)</script> ({world.v1})"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Health"] == "attention"
    assert metrics["Next service (km)"] == "15,000"
    assert metrics["Next service (date)"] == "2030-01-31"
    assert "• Check tire RR pressure" in [t.value for t in at.text]
    assert list(frame(at, "dtc_table")["code"]) == ["P0301"]
    assert len(frame(at, "vehicle_alerts")) == 1
    trips = frame(at, "vehicle_trips")
    assert len(trips) == 1 and float(trips["distance_km"].iloc[0]) == 12.5
    assert at.slider(key="replay_pos").max == 20  # 21 fixes stored during the trip
    route = next(s for s in plotly_specs(at) if any(t.get("name") == "driven" for t in s["data"]))
    assert len(values(next(t for t in route["data"] if t.get("name") == "route")["lat"])) == 21
    at.slider(key="replay_pos").set_value(5).run()
    route = next(s for s in plotly_specs(at) if any(t.get("name") == "driven" for t in s["data"]))
    assert len(values(next(t for t in route["data"] if t.get("name") == "driven")["lat"])) == 6


def test_vehicle_signals_come_from_stats_for_long_ranges(world: World) -> None:
    at = open_page(sign_in(world, "parent"), "pages/vehicle.py")
    assert any(c.value.startswith("source: stats_1m") for c in at.caption)  # default 24 h
    at.selectbox(key="vehicle_range").set_value("Last hour").run()
    assert any(c.value.startswith("source: telemetry") for c in at.caption)


def test_vehicle_page_for_manager_offers_their_fleet_only(world: World) -> None:
    at = open_page(sign_in(world, "manager"), "pages/vehicle.py")
    options = at.selectbox(key="vehicle_page_vehicle").options
    assert len(options) == 2 and all(world.v3 not in o for o in options)
    assert any(world.v1 in o for o in options) and any(world.v2 in o for o in options)


# ---------------------------------------------------------------- alerts

def test_alerts_history_filters_and_scope(world: World) -> None:
    at = open_page(sign_in(world, "manager"), "pages/alerts.py")
    assert set(frame(at, "alerts_history")["vehicle_id"]) == {world.v1, world.v2}
    at.multiselect(key="alerts_severities").set_value(["critical"]).run()
    hist = frame(at, "alerts_history")
    assert list(hist["vehicle_id"]) == [world.v2] and list(hist["type"]) == ["coolant_high"]
    assert at.download_button(key="alerts_csv").label == "Export CSV"


def test_alerts_type_filter_offers_every_rule_type(world: World) -> None:
    """The Type filter lists every type the rules can raise, also those absent from the range."""
    from contracts.alert import ALERT_TYPES

    at = open_page(sign_in(world, "manager"), "pages/alerts.py")
    options = list(at.multiselect(key="alerts_types").options)
    assert options[:len(ALERT_TYPES)] == list(ALERT_TYPES) and "ignition_on" in options
    at.multiselect(key="alerts_types").set_value(["ignition_on"]).run()
    assert len(frame(at, "alerts_history")) == 0  # the seeded world has none
    at.multiselect(key="alerts_types").set_value(["coolant_high"]).run()
    assert list(frame(at, "alerts_history")["type"]) == ["coolant_high"]


def test_open_incidents_list_the_unacknowledged_critical_first(world: World) -> None:
    at = open_page(sign_in(world, "manager"), "pages/alerts.py")
    inc = frame(at, "incidents_open")
    assert list(inc["vehicle_id"]) == [world.v2, world.v1] and list(inc["severity"]) == ["critical", "info"]
    assert list(inc["state"]) == ["raised", "raised"] and list(inc["acked_by"]) == ["", ""]
    assert at.button(key="ack_button").label == "Acknowledge"  # not pressed here: it would write the demo fleet.acks


def test_alerts_for_parent(world: World) -> None:
    at = open_page(sign_in(world, "parent"), "pages/alerts.py")
    assert list(frame(at, "alerts_history")["vehicle_id"]) == [world.v1]
    assert list(frame(at, "alerts_live")["vehicle_id"]) == [world.v1]


# ---------------------------------------------------------------- trips

def test_trips_summary_per_vehicle_with_driver(world: World) -> None:
    at = open_page(sign_in(world, "manager"), "pages/trips.py")
    summary = frame(at, "trips_summary").set_index("vehicle_id")
    assert set(summary.index) == {world.v1, world.v2}
    assert summary.loc[world.v2, "driver"] == "driver-x"
    assert summary.loc[world.v2, "trips"] == 1 and summary.loc[world.v2, "distance_km"] == 12.5
    assert summary.loc[world.v2, "score"] == 91.0 and summary.loc[world.v2, "harsh_events"] == 1
    assert len(frame(at, "trips_table")) == 2
    at.multiselect(key="trips_vehicles").set_value([world.v1]).run()
    assert list(frame(at, "trips_table")["vehicle_id"]) == [world.v1]


def test_trips_admin_filters_by_fleet(world: World) -> None:
    at = open_page(sign_in(world, "admin"), "pages/trips.py")
    at.multiselect(key="trips_fleets").set_value([world.fleet_b]).run()
    assert list(frame(at, "trips_summary")["vehicle_id"]) == [world.v3]


# ---------------------------------------------------------------- prices

def test_prices_for_trader(world: World) -> None:
    at = open_page(sign_in(world, "trader"), "pages/prices.py")
    at.selectbox(key="prices_symbol").set_value(world.symbol).run()
    metrics = {m.label: m for m in at.metric}
    assert metrics["Best bid"].value == "101" and metrics["Best ask"].value == "100.5"
    # the rules' spread of the seeded book: exc is stale (excluded), so the best bid is exb's 101;
    # margin after the default 0.2 % taker fee on both sides: (101 * 0.998 / (100.5 * 1.002) - 1) * 100
    assert metrics["Best bid"].delta == "on exb" and metrics["Best ask"].delta == "on exa"  # exchange of each side
    assert metrics["Arbitrage after fees %"].value == "0.0963"
    ex = frame(at, "prices_exchanges").set_index("exchange")
    assert list(ex.index) == ["exa", "exb", "exc"]
    assert list(ex["stale"]) == [False, False, True]
    assert ex.loc["exb", "bid"] == 101.0 and ex.loc["exb", "ask"] == 101.5
    specs = plotly_specs(at)
    best = next(s for s in specs if any(t.get("name") == "best bid" for t in s["data"]))
    assert len(values(best["data"][0]["x"])) == 6 * 50  # one spread each 10 s over the 50 seeded minutes
    candles = [s for s in specs if any(t.get("type") == "candlestick" for t in s["data"])]
    assert len(candles) == 3 and all(len(values(c["data"][0]["open"])) == 50 for c in candles)
