"""Trips & safety: trips per vehicle (driver = registry owner) with distance, duration, events, score."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from dashboard import data
from dashboard.places import with_trip_places
from dashboard.session import require_page
from dashboard.views import fleet_overview, trip_summary, vehicle_choices
from dashboard.widgets import csv_bytes, time_range

ctx = require_page("fleet")
s = ctx.settings
st.title("Trips & safety")

overview, registry = fleet_overview(ctx)
choices = vehicle_choices(overview, registry)
start, stop = time_range("trips", "Last 7 days")
c1, c2 = st.columns(2)
fleets = c1.multiselect("Fleet", sorted({str(f) for f in overview["fleet_id"].dropna()}), key="trips_fleets",
                        placeholder="All fleets")
vehicles = c2.multiselect("Vehicle", list(choices), key="trips_vehicles", format_func=lambda v: choices[v],
                          placeholder="All vehicles")
trips = with_trip_places(data.trips(ctx.scope, start, stop, s.max_rows, vehicles=vehicles, fleets=fleets))

st.subheader("Per vehicle")
summary = trip_summary(trips, registry)
st.dataframe(summary, key="trips_summary", hide_index=True)

st.subheader("Trips")
shown = trips[["vehicle_id", "start", "end", "start_place", "end_place", "distance_km", "duration_s", "max_speed_kmh", "mean_speed_kmh", "idle_s",
               "harsh_events", "overspeed_events", "score"]]
st.dataframe(shown, key="trips_table", hide_index=True)
st.download_button("Export CSV", csv_bytes(shown), file_name="trips.csv", mime="text/csv", key="trips_csv")

st.subheader("Daily safety score")
daily = data.safety_daily(ctx.scope, start, stop, s.max_rows)
if vehicles:
    daily = daily[daily["vehicle_id"].isin(vehicles)]
if fleets:
    daily = daily[daily["fleet_id"].isin(fleets)]
if daily.empty:
    st.text("No daily scores in this range.")
else:
    fig = px.line(daily.sort_values("time"), x="time", y="score", color="vehicle_id", markers=True, height=320)
    # one tick a day, a day either side: a single day otherwise gets an axis of milliseconds
    days = pd.to_datetime(daily["time"], utc=True)
    fig.update_xaxes(tickformat="%Y-%m-%d", dtick=86_400_000,
                     range=[days.min() - pd.Timedelta(days=1), days.max() + pd.Timedelta(days=1)])
    st.plotly_chart(fig, key="safety_chart")
