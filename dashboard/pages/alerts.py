"""Alerts: open incidents (unacknowledged critical first, with acknowledgement), a live feed of
the newest alerts and the history with filters and CSV export."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from contracts.alert import ALERT_TYPES
from dashboard import acks as ack_store
from dashboard import data
from dashboard.incidents import incidents
from dashboard.places import with_alert_place
from dashboard.session import require_page
from dashboard.views import fleet_overview, vehicle_choices
from dashboard.widgets import csv_bytes, for_display, time_range

ctx = require_page("fleet")
s = ctx.settings
st.title("Alerts")
SHOWN = ["time", "vehicle_id", "fleet_id", "type", "severity", "message", "place", "value", "threshold", "geofence_id"]


@st.fragment(run_every=s.refresh_s)
def live_feed() -> None:
    st.subheader("Live (last hour)")
    live = with_alert_place(data.alerts(ctx.scope, timedelta(hours=1), None, 20))
    st.dataframe(live[SHOWN].fillna({"geofence_id": ""}), key="alerts_live", hide_index=True)  # no geofence: blank, not None


live_feed()

st.subheader("Open incidents (last 24 hours)")
try:
    acked = ack_store.cached_acks()
except Exception as exc:  # noqa: BLE001 - the page still shows the incidents without their acknowledgements
    acked = {}
    st.warning(f"Acknowledgements could not be read from Kafka: {exc}")
recent = incidents(data.alerts(ctx.scope, timedelta(hours=24), None, s.max_rows), acked)
open_now = recent[recent["open"]]
INCIDENT_SHOWN = ["severity", "type", "vehicle_id", "state", "raised", "message", "acked_by", "acked_at"]
st.caption(f"{len(open_now)} open, {int((open_now['acked_by'] == '').sum())} not acknowledged")
st.dataframe(for_display(open_now[INCIDENT_SHOWN]), key="incidents_open", hide_index=True)
pending = open_now[open_now["acked_by"] == ""]
if not pending.empty:
    labels = {r.incident_id: f"{r.severity} {r.type} {r.vehicle_id} ({r.raised})" for r in pending.itertuples()}
    c1, c2, c3 = st.columns([3, 2, 1])
    chosen = c1.selectbox("Incident", list(labels), format_func=lambda i: labels[i], key="ack_incident")
    note = c2.text_input("Note", key="ack_note", max_chars=200)
    if c3.button("Acknowledge", key="ack_button"):
        vehicle = str(pending.set_index("incident_id").loc[chosen, "vehicle_id"])
        try:
            ack_store.acknowledge(str(chosen), vehicle, ctx.user.name, note)
        except ack_store.AckError as exc:
            st.error(f"Not acknowledged: {exc}")
        else:
            st.success(f"Acknowledged {labels[chosen]}")
            st.rerun()

st.subheader("History")
overview, registry = fleet_overview(ctx)
choices = vehicle_choices(overview, registry)
start, stop = time_range("alerts", "Last 24 hours")
everything = data.alerts(ctx.scope, start, stop, s.max_rows)
c1, c2, c3 = st.columns(3)
# every type the rules can raise (a type absent from this range can still be chosen), then any other stored one
type_choices = list(ALERT_TYPES) + sorted({str(t) for t in everything["type"].dropna()} - set(ALERT_TYPES))
types = c1.multiselect("Type", type_choices, key="alerts_types", placeholder="All types")
severities = c2.multiselect("Severity", ["info", "warning", "critical"], key="alerts_severities", placeholder="All severities")
vehicles = c3.multiselect("Vehicle", list(choices), key="alerts_vehicles", format_func=lambda v: choices[v],
                          placeholder="All vehicles")
history = with_alert_place(data.alerts(ctx.scope, start, stop, s.max_rows, vehicles=vehicles, types=types, severities=severities))
st.caption(f"{len(history)} alert(s)" + (f" (newest {s.max_rows} shown)" if len(history) >= s.max_rows else ""))
st.dataframe(history[SHOWN].fillna({"geofence_id": ""}), key="alerts_history", hide_index=True)
st.download_button("Export CSV", csv_bytes(history[SHOWN]), file_name="alerts.csv", mime="text/csv", key="alerts_csv")
