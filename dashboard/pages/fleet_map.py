"""Fleet map: latest position and status of every vehicle in scope, geofences, filters, details."""

from __future__ import annotations

import streamlit as st

from access.status import STATUSES
from dashboard import maps
from dashboard.places import place_labels, position_place
from dashboard.session import require_page
from dashboard.views import fleet_overview
from dashboard.widgets import fleet_label

ctx = require_page("fleet")
st.title("Fleet map")


def _on_map_click() -> None:
    """A click on a marker selects that vehicle; ``selected_vehicle`` survives every refresh."""
    event = st.session_state.get("fleet_map_chart") or {}
    points = event.get("selection", {}).get("points", [])
    custom = points[0].get("customdata") if points else None
    if custom:
        st.session_state["selected_vehicle"] = custom[0] if isinstance(custom, list) else custom


def _on_pick() -> None:
    st.session_state["selected_vehicle"] = st.session_state.get("map_vehicle_pick")


@st.fragment(run_every=ctx.settings.refresh_s)
def live_map() -> None:
    overview, registry = fleet_overview(ctx)
    fleets = sorted({str(f) for f in overview["fleet_id"].dropna()})
    c1, c2 = st.columns(2)
    chosen_fleets = c1.multiselect("Fleet", fleets, key="map_fleets", placeholder="All fleets")
    chosen_status = c2.multiselect("Status", list(STATUSES), key="map_status", placeholder="All statuses")
    shown = overview
    if chosen_fleets:
        shown = shown[shown["fleet_id"].isin(chosen_fleets)]
    if chosen_status:
        shown = shown[shown["status"].isin(chosen_status)]

    cols = st.columns(len(STATUSES) + 1)
    cols[0].metric("Vehicles", len(shown))
    for col, status in zip(cols[1:], STATUSES, strict=True):
        col.metric(status.capitalize(), int((shown["status"] == status).sum()))

    ids = list(shown["vehicle_id"])
    current = st.session_state.get("selected_vehicle")
    if current is not None and current not in ids and current in set(overview["vehicle_id"]):
        ids.append(current)  # filtered out, but still the user's selection
    labels = dict(zip(overview["vehicle_id"], overview["name"], strict=True))
    selected = current if current in ids else None
    st.session_state["map_vehicle_pick"] = selected
    st.selectbox("Selected vehicle", [None, *ids], key="map_vehicle_pick", on_change=_on_pick,
                 format_func=lambda v: "-" if v is None else f"{labels.get(v, v)} ({v})")

    st.plotly_chart(maps.fleet_map(shown, registry.geofences.values(), ctx.settings.map_style, selected),
                    key="fleet_map_chart", on_select=_on_map_click, selection_mode="points", config={"scrollZoom": True})

    if selected is not None:
        row = overview[overview["vehicle_id"] == selected].iloc[0]
        st.subheader("Selected vehicle")
        st.text(f"{row['name']} ({row['vehicle_id']}) · {fleet_label(row['fleet_id'])} · {row['status']}")
        st.text(f"{float(row['speed_kmh'] or 0):.0f} km/h · last fix {row['time']:%Y-%m-%d %H:%M:%S} UTC "
                f"({row['age_s']:.0f} s ago) · {row['alerts']} recent alert(s)")
        st.text(f"At {position_place(row['lat'], row['lon']) or 'no position'}")
        if st.button("Open vehicle page", key="open_vehicle"):
            st.switch_page("pages/vehicle.py")

    table = shown[["name", "vehicle_id", "fleet_id", "status", "speed_kmh", "alerts", "time", "age_s", "active"]].copy()
    table.insert(4, "place", place_labels(shown, "place", "lat", "lon"))  # of the last fix; offline lookup, cached
    st.dataframe(table, key="fleet_table", hide_index=True, column_config={
        "speed_kmh": st.column_config.NumberColumn("km/h", format="%.0f"),
        "age_s": st.column_config.NumberColumn("age s", format="%.0f"),
        "time": st.column_config.DatetimeColumn("last fix (UTC)")})
    for problem in registry.problems:
        st.caption(problem)


live_map()
