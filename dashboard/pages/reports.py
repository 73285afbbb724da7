"""Reports: daily summaries per vehicle and driver, trips, stops and events of a date range, with
places, downloaded as CSV (zip), XLSX or PDF - the same files as ``python -m jobs.fleet_report``.

Only the vehicles of the user's scope can be chosen; each is read by its id (docs/reports.md).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import streamlit as st
from influxdb_client import InfluxDBClient

from dashboard.config import load_dashboard_settings
from dashboard.session import require_page
from dashboard.views import fleet_overview, vehicle_choices
from jobs.fleet_report import make_report, period
from jobs.fleet_report_files import csv_zip, pdf_bytes, xlsx_bytes
from rules.fleet.registry import Registry
from settings.geodata import countries, time_zones
from settings.stack import load_stack_settings

ctx = require_page("fleet")
st.title("Reports")


@st.cache_resource(show_spinner=False)
def _client(url: str, org: str, token: str) -> InfluxDBClient:
    return InfluxDBClient(url=url, org=org, token=token, timeout=120_000)


overview, registry = fleet_overview(ctx)
choices = vehicle_choices(overview, registry)
c1, c2 = st.columns([3, 2])
vehicles = c1.multiselect("Vehicles", list(choices), default=list(choices), format_func=lambda v: choices[v], key="reports_vehicles")
yesterday = datetime.now(UTC).date() - timedelta(days=1)
picked = c2.date_input("Days", value=(yesterday, yesterday), key="reports_days")
first, last = picked if isinstance(picked, tuple) and len(picked) == 2 else (yesterday, yesterday)
c3, c4 = st.columns(2)
names = dict(countries())
# Days are the fleet's local days by default: when the chosen vehicles share one fleet, its country and zone
# (the fleet admin's settings) are preset - again whenever that fleet changes; the user may pick others.
data_fleet = dict(zip(overview["vehicle_id"], overview["fleet_id"], strict=True))
chosen_fleets = {registry.vehicles[v].fleet_id if v in registry.vehicles else data_fleet.get(v) for v in vehicles}
home = registry.fleets.get(str(next(iter(chosen_fleets)))) if len(chosen_fleets) == 1 else None
if st.session_state.get("reports_home") != (home.id if home else None):
    st.session_state["reports_home"] = home.id if home else None
    st.session_state["reports_country"] = home.country if home and home.country else ""
    st.session_state["reports_tz"] = home.timezone if home and home.timezone else "UTC"
country = c3.selectbox("Country (time zones)", ["", *names], format_func=lambda c: names.get(c, "UTC"), key="reports_country")
zones = time_zones(country) if country else ["UTC"]
if home and home.timezone and home.timezone not in zones and not country:
    zones = [*zones, home.timezone]  # a fleet zone without a country
tz = c4.selectbox("Time zone", zones, key="reports_tz")

if st.button("Build report", key="reports_build", disabled=not vehicles):
    assert isinstance(first, date) and isinstance(last, date)
    s = load_stack_settings()
    client = _client(s.influx_url, s.influx_org, s.reader_token(load_dashboard_settings().allow_operator_token))
    start, stop = period(first, last, tz)
    with st.spinner(f"Reading {len(vehicles)} vehicles ..."):
        built = make_report(client, s.influx_bucket_fleet, Registry(vehicles=dict(registry.vehicles)), sorted(vehicles), start, stop, tz,
                             f"Fleet report {first} - {last}", log=False)
    st.session_state["reports_report"] = built

report = st.session_state.get("reports_report")
if report is None:
    st.info("Choose vehicles and days, then build the report.")
    st.stop()

st.caption(report.period())
d1, d2, d3 = st.columns(3)
d1.download_button("CSV (zip)", csv_zip(report), file_name="fleet-report-csv.zip", mime="application/zip", key="reports_csv")
d2.download_button("Excel (XLSX)", xlsx_bytes(report), file_name="fleet-report.xlsx",
                   mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="reports_xlsx")
d3.download_button("PDF", pdf_bytes(report), file_name="fleet-report.pdf", mime="application/pdf", key="reports_pdf")
for name, title in (("summary_vehicles", "Summary per vehicle"), ("summary_drivers", "Summary per driver"), ("trips", "Trips"),
                    ("stops", "Stops"), ("events", "Events")):
    st.subheader(title)
    st.dataframe(report.tables[name], key=f"reports_{name}", hide_index=True)
