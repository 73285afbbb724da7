"""Vehicle: signals over a time range, health and next service, DTCs, recent alerts, trips with replay."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import plotly.express as px
import streamlit as st

from dashboard import data, maps
from dashboard.places import position_place, with_alert_place, with_trip_places
from dashboard.session import require_page
from dashboard.views import fleet_overview, vehicle_choices
from dashboard.widgets import fleet_label, text_of, time_range

ctx = require_page("fleet")
s = ctx.settings
st.title("Vehicle")

overview, registry = fleet_overview(ctx)
choices = vehicle_choices(overview, registry)
if not choices:
    st.info("No vehicle in your scope has reported yet.")
    st.stop()
ids = list(choices)
preferred = st.session_state.get("selected_vehicle")
if st.session_state.get("vehicle_page_vehicle") not in ids:
    st.session_state["vehicle_page_vehicle"] = preferred if preferred in ids else ids[0]
vehicle_id = st.selectbox("Vehicle", ids, key="vehicle_page_vehicle", format_func=lambda v: choices[v])
st.session_state["selected_vehicle"] = vehicle_id
start, stop = time_range("vehicle", "Last 24 hours")

row = overview[overview["vehicle_id"] == vehicle_id]
if not row.empty:
    r = row.iloc[0]
    st.text(f"Status {r['status']} · {float(r['speed_kmh'] or 0):.0f} km/h · {fleet_label(r['fleet_id'])} · "
            f"last fix {r['time']:%Y-%m-%d %H:%M:%S} UTC")
    if place := position_place(r.get("lat"), r.get("lon")):
        st.text(f"At {place}")

# --- health, next service, DTCs
health = data.latest_fields(ctx.scope, "health", vehicle_id, timedelta(days=30))
st.subheader("Health")
if health:
    c = st.columns(4)
    c[0].metric("Health", str(health.get("status", "?")))
    c[1].metric("Next service (km)", f"{float(health['next_service_km']):,.0f}" if pd.notna(health.get("next_service_km")) else "-")
    c[2].metric("Next service (date)", str(health.get("next_service_date") or "-"))
    # the health record carries no oil life (sinks/influx_points/fleet_analytics.py): the device reports it
    oil = data.latest_fields(ctx.scope, "telemetry", vehicle_id, timedelta(days=30)).get("oil_life_pct")
    c[3].metric("Oil life %", f"{float(oil):.0f}" if oil is not None and pd.notna(oil) else "-")
    suggestions = [x.strip() for x in str(health.get("suggestions") or "").split(";") if x.strip()]
    st.caption("Suggestions")
    for line in suggestions or ["none"]:
        st.text(f"• {line}")
    dtcs = [x.strip() for x in text_of(health.get("active_dtc")).split(",") if x.strip()]
else:
    st.text("No health record in the last 30 days.")
    last = data.latest_fields(ctx.scope, "telemetry", vehicle_id, timedelta(days=1))
    dtcs = [x.strip() for x in text_of(last.get("dtc")).split(",") if x.strip()]
st.caption("Active diagnostic trouble codes")
st.dataframe(pd.DataFrame({"code": dtcs}), key="dtc_table", hide_index=True)

# --- signals
series, source = data.vehicle_series(ctx.scope, vehicle_id, start, stop, timedelta(hours=s.raw_max_range_h), s.max_points)
st.subheader("Signals")
st.caption(f"source: {source} · {len(series)} points")
groups = {
    "Speed (km/h)": ["speed_kmh", "speed_mean_kmh", "speed_max_kmh"], "RPM": ["rpm", "rpm_mean"],
    "Coolant (°C)": ["coolant_temp_c", "coolant_max_c"], "Battery (V)": ["battery_v", "battery_last_v"],
    "Fuel (%)": ["fuel_level_pct", "fuel_last_pct"],
    "Tire pressure (kPa)": ["tire_fl_kpa", "tire_fr_kpa", "tire_rl_kpa", "tire_rr_kpa"],
}
tabs = st.tabs(list(groups))
for tab, cols in zip(tabs, groups.values(), strict=True):
    present = [c for c in cols if c in series.columns]
    with tab:
        if not present:
            st.text("no data in this range")
            continue
        long = series[["time", *present]].melt("time", var_name="signal", value_name="value").dropna()
        st.plotly_chart(px.line(long, x="time", y="value", color="signal", height=300), key=f"chart_{cols[0]}")

# --- recent alerts
st.subheader("Recent alerts (7 days)")
recent = with_alert_place(data.alerts(ctx.scope, timedelta(days=7), None, 50, vehicles=[vehicle_id]))
st.dataframe(recent[["time", "type", "severity", "message", "place", "value", "threshold"]], key="vehicle_alerts", hide_index=True)

# --- trips with route replay
st.subheader("Trips")
trips = with_trip_places(data.trips(ctx.scope, start, stop, 200, vehicles=[vehicle_id]))
st.dataframe(trips[["start", "end", "start_place", "end_place", "distance_km", "duration_s", "max_speed_kmh", "harsh_events",
                    "overspeed_events", "score"]], key="vehicle_trips", hide_index=True)
if not trips.empty:
    labels = {tid: f"{st_:%m-%d %H:%M} -> {en:%H:%M} · {float(d or 0):.1f} km" for tid, st_, en, d in
              zip(trips["trip_id"], trips["start"], trips["end"], trips["distance_km"], strict=True)}
    trip_id = st.selectbox("Replay trip", list(labels), key="replay_trip", format_func=lambda t: labels[t])
    trip = trips[trips["trip_id"] == trip_id].iloc[0]
    path = data.route(ctx.scope, vehicle_id, trip["start"].to_pydatetime(), trip["end"].to_pydatetime() + timedelta(seconds=1),
                      s.max_points)
    if path.empty:
        st.text("No positions stored for this trip.")
    else:
        upto = st.slider("Replay", 0, len(path) - 1, len(path) - 1, key="replay_pos") if len(path) > 1 else 0
        at = path.iloc[upto]
        st.text(f"{at['time']:%H:%M:%S} UTC · {float(at.get('speed_kmh') or 0):.0f} km/h · {position_place(at['lat'], at['lon'])}")
        st.plotly_chart(maps.route_map(path, upto, s.map_style, registry.geofences.values()), key="route_map")
