"""Route replay: a vehicle's path over a time range coloured by speed, a time slider moving the
vehicle on the map and a marker on the speed / alerts timeline together, stops and alerts marked,
GPX export. Reads are the scoped ones (``data.route``, ``data.alerts``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import streamlit as st

from dashboard import data
from dashboard.replay_charts import speed_route_map, speed_timeline
from dashboard.session import require_page
from dashboard.views import fleet_overview, vehicle_choices
from dashboard.widgets import time_range
from jobs.fleet_report_files import gpx_bytes
from rules.fleet.config import FleetSettings
from rules.fleet.stops import Sample, detect_stops, with_places
from settings.geodata import place_index

ctx = require_page("fleet")
s = ctx.settings
st.title("Route replay")

overview, registry = fleet_overview(ctx)
choices = vehicle_choices(overview, registry)
if not choices:
    st.info("No vehicle in your scope.")
    st.stop()
vehicle_id = st.selectbox("Vehicle", list(choices), format_func=lambda v: choices[v], key="replay_page_vehicle")
start, stop = time_range("replay_page", "Last 24 hours")
if isinstance(start, timedelta):
    stop = datetime.now(UTC)
    start = stop - start
assert isinstance(start, datetime) and stop is not None
path = data.route(ctx.scope, vehicle_id, start, stop, s.max_points)
if path.empty:
    st.info("No positions of this vehicle in this range.")
    st.stop()
alerts = data.alerts(ctx.scope, start, stop, s.max_rows, vehicles=[vehicle_id]).dropna(subset=["lat", "lon"])
speeds = path["speed_kmh"].astype(float).fillna(0.0) if "speed_kmh" in path else [0.0] * len(path)
samples = [Sample(int(t.timestamp() * 1000), float(la), float(lo), float(v))
           for t, la, lo, v in zip(path["time"], path["lat"], path["lon"], speeds, strict=True)]
cfg = FleetSettings()
stops = with_places(detect_stops(vehicle_id, samples, speed_kmh=cfg.trip_start_speed_kmh, min_duration_s=cfg.trip_min_stop_s,
                                 max_gap_s=cfg.trip_max_gap_s), place_index())

upto = st.slider("Replay", 0, len(path) - 1, len(path) - 1, key="replay_page_pos") if len(path) > 1 else 0
at = path.iloc[upto]
here = place_index().label(float(at["lat"]), float(at["lon"]))
st.text(f"{at['time']:%Y-%m-%d %H:%M:%S} UTC · {float(speeds[upto]):.0f} km/h · {here}")
st.plotly_chart(speed_route_map(path, upto, s.map_style, stops, alerts), key="replay_page_map")
st.plotly_chart(speed_timeline(path, upto, alerts), key="replay_page_timeline")
st.caption(f"{len(path)} positions, {len(stops)} stops, {len(alerts)} alerts")
st.download_button("Export GPX", gpx_bytes(vehicle_id, samples, stops), file_name=f"{vehicle_id}.gpx", mime="application/gpx+xml",
                   key="replay_page_gpx")
