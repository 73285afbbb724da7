"""Route replay: a vehicle's path over a time range coloured by speed, a time slider moving the
vehicle on the map and a marker on the speed / alerts timeline together, stops and alerts marked,
GPX export. Reads are the scoped ones (``data.route``, ``data.alerts``, ``data.stops``): the stops are
the ones the analytics flow stored, as in reports (``report_stops``), plus those computed from the
fixes that overlap none of them.

**Play** moves the position by itself: the position (a slider; a progress bar while playing), the
moment's line and both charts are one ``st.fragment`` that reruns every ``PLAY_TICK_S`` while
playing, stepping by the chosen number of fixes; it stops at the last fix (or on **Pause**), where
the slider comes back. Only the fragment reruns, not the reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import streamlit as st

from dashboard import data
from dashboard.replay_charts import speed_route_map, speed_timeline
from dashboard.session import require_page
from dashboard.views import fleet_overview, vehicle_choices
from dashboard.widgets import time_range
from jobs.fleet_report_build import VehicleRecords, report_stops
from jobs.fleet_report_files import gpx_bytes
from rules.fleet.config import FleetSettings
from rules.fleet.stops import Sample, with_place
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
stored_stops = data.stop_records(ctx.scope, start, stop, s.max_rows, vehicles=[vehicle_id])
# the flow's stored stops, plus those computed from the fixes that overlap none (a stop begun before the range)
stops = [x if x.place else with_place(x, place_index())
         for x in report_stops(VehicleRecords(vehicle_id, samples=samples, stops=stored_stops), FleetSettings())]

PLAY_TICK_S = 0.5
STEPS = (1, 5, 20)
last = len(path) - 1


def _play() -> None:
    if st.session_state.get("replay_page_at", last) >= last:
        st.session_state["replay_page_at"] = 0  # from the end: start again
    st.session_state["replay_page_playing"] = True
    st.session_state["replay_page_hold"] = True  # the click's own run shows the start, the ticks step on


def _pause() -> None:
    st.session_state["replay_page_playing"] = False


def _moved() -> None:
    """Dragged by hand. Not while playing: no slider is drawn then, and a value that arrives is the
    browser's echo of the slider it showed before Play (seen in Chromium: play jumped to the end)."""
    if not st.session_state.get("replay_page_playing"):
        st.session_state["replay_page_at"] = st.session_state["replay_page_pos"]


playing = bool(st.session_state.get("replay_page_playing")) and last > 0
if last > 0:
    b1, b2 = st.columns([1, 3])
    if playing:
        b1.button("Pause", key="replay_page_pause", on_click=_pause, icon=":material/pause:")
    else:
        b1.button("Play", key="replay_page_play", on_click=_play, icon=":material/play_arrow:")
    step = b2.selectbox("Play speed", STEPS, key="replay_page_step",
                        format_func=lambda n: f"{n} fix{'es' if n > 1 else ''} every {PLAY_TICK_S} s")


def _replay() -> None:
    """Slider (a progress bar while playing), moment line and charts; while playing, each run first steps on.

    The position lives in ``replay_page_at`` (the slider's own state is dropped whenever its range
    changes, or while playing) and is written to the slider's state before it is drawn; it starts
    at the end for each vehicle and range, a drag moves it (``_moved``)."""
    state = st.session_state
    pos = state.get("replay_page_at")
    if pos is None or state.get("replay_page_for") != (vehicle_id, last):
        pos = last  # another vehicle or range (as a new slider before): its end
    state["replay_page_for"] = (vehicle_id, last)
    pos = int(pos)
    if playing and not state.pop("replay_page_hold", False):
        pos = min(pos + int(step), last)
    state["replay_page_at"] = pos
    if playing:
        # no slider while playing: the browser sent back the value it still showed, racing the timer's
        # steps, and that echo counted as a drag (Chromium: play stopped 1-2 fixes before the end)
        st.progress(pos / last, text=f"Replay · fix {pos} of {last}")
        upto = pos
    else:
        state["replay_page_pos"] = pos  # the slider's state set before it is drawn: it shows pos
        upto = st.slider("Replay", 0, last, key="replay_page_pos", on_change=_moved) if last > 0 else 0
    at = path.iloc[upto]
    here = place_index().label(float(at["lat"]), float(at["lon"]))
    st.text(f"{at['time']:%Y-%m-%d %H:%M:%S} UTC · {float(speeds[upto]):.0f} km/h · {here}")
    st.plotly_chart(speed_route_map(path, upto, s.map_style, stops, alerts), key="replay_page_map")
    st.plotly_chart(speed_timeline(path, upto, alerts), key="replay_page_timeline")
    if playing and upto >= last:
        st.session_state["replay_page_playing"] = False
        st.rerun()  # the whole page: Play again, no timer


st.fragment(_replay, run_every=PLAY_TICK_S if playing else None)()
st.caption(f"{len(path)} positions, {len(stops)} stops, {len(alerts)} alerts")
st.download_button("Export GPX", gpx_bytes(vehicle_id, samples, stops), file_name=f"{vehicle_id}.gpx", mime="application/gpx+xml",
                   key="replay_page_gpx")
