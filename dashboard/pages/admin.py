"""Fleet admin (admins only): fleet settings (country, region, time zone), activate / deactivate vehicles,
speed limits, geofences -> fleet.config."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st
from pydantic import ValidationError

from access.fleet_config import PublishError, fleet_key, geofence_key, vehicle_key, vehicle_record
from contracts.registry import Fleet, Vehicle
from dashboard import live_config, maps
from dashboard.session import require_page
from dashboard.views import fleet_overview
from dashboard.widgets import for_display
from rules.fleet.registry_items import collect_geofences
from settings.geodata import all_time_zones, countries, regions, time_zones

ctx = require_page("admin")
s = ctx.settings
st.title("Fleet admin")
st.caption("Changes are published to the Kafka topic fleet.config, which the fleet flows read live.")

overview, registry = fleet_overview(ctx)
for problem in registry.problems:
    st.warning(problem)

# --- vehicles
st.subheader("Vehicles")
vehicles: dict[str, Vehicle] = dict(registry.vehicles)
for vid, fleet in zip(overview["vehicle_id"], overview["fleet_id"], strict=True):
    vehicles.setdefault(vid, Vehicle(id=vid, name=vid, fleet_id=None if pd.isna(fleet) else str(fleet)))


table = pd.DataFrame([{"vehicle_id": v.id, "name": v.name, "fleet_id": v.fleet_id, "owner": v.owner or "", "active": v.active,
                       "speed_limit_kmh": v.speed_limit_kmh, "in registry": v.id in registry.vehicles}
                      for v in sorted(vehicles.values(), key=lambda v: v.id)],
                     columns=["vehicle_id", "name", "fleet_id", "owner", "active", "speed_limit_kmh", "in registry"])
st.dataframe(for_display(table), key="admin_vehicles", hide_index=True)  # no limit: an empty cell, not "None"

if vehicles:
    vid = st.selectbox("Vehicle to change", sorted(vehicles), key="admin_vehicle",
                       format_func=lambda v: f"{vehicles[v].name} ({v})")
    current = vehicles[vid]
    with st.form("admin_vehicle_form"):
        active = st.checkbox("Active", value=current.active, key=f"admin_active_{vid}")
        limit = st.number_input("Speed limit km/h (0 = fleet default)", min_value=0.0, max_value=300.0, step=5.0,
                                value=float(current.speed_limit_kmh or 0.0), key=f"admin_limit_{vid}")
        if st.form_submit_button("Publish vehicle"):
            record = vehicle_record(current, active=bool(active), speed_limit_kmh=float(limit) or None)
            changed = Vehicle.model_validate(record)
            try:
                live_config.publish([(vehicle_key(vid), record)])
            except PublishError as exc:
                st.error(f"Not published: {exc}")
            else:
                st.success(f"Published {vehicle_key(vid)}: active={changed.active}, "
                           f"speed limit={changed.speed_limit_kmh or 'default'}")

# --- fleets: country, region, time zone (reports' day boundaries, daily scores)
st.subheader("Fleets")
fleets: dict[str, Fleet] = dict(registry.fleets)
st.dataframe(for_display(pd.DataFrame([{"fleet_id": f.id, "name": f.name, "speed_limit_kmh": f.speed_limit_kmh, "country": f.country or "",
                            "region": f.region or "", "timezone": f.timezone or ""} for f in sorted(fleets.values(), key=lambda f: f.id)],
                          columns=["fleet_id", "name", "speed_limit_kmh", "country", "region", "timezone"])),
             key="admin_fleets", hide_index=True)
if fleets:
    fid = st.selectbox("Fleet to change", sorted(fleets), key="admin_fleet", format_func=lambda f: f"{fleets[f].name} ({f})")
    fleet = fleets[fid]
    # no st.form: the region and time zone lists follow the country as it is picked
    names = dict(countries())
    c1, c2, c3 = st.columns(3)
    country = c1.selectbox("Country", ["", *names], index=[*names].index(fleet.country) + 1 if fleet.country in names else 0,
                           format_func=lambda c: f"{names[c]} ({c})" if c else "none", key=f"admin_country_{fid}")
    region_names = dict(regions(country)) if country else {}
    region = c2.selectbox("Region", ["", *region_names],
                          index=[*region_names].index(fleet.region) + 1 if fleet.region in region_names else 0,
                          format_func=lambda r: f"{region_names[r]} ({r})" if r else "none", key=f"admin_region_{fid}_{country}")
    zones = (time_zones(country) if country else []) or all_time_zones()  # a country without a zone in tzdata: every zone
    zone = c3.selectbox("Time zone", ["", *zones], index=zones.index(fleet.timezone) + 1 if fleet.timezone in zones else 0,
                        format_func=lambda z: z or "none (UTC)", key=f"admin_tz_{fid}_{country}")
    if st.button("Publish fleet", key="admin_publish_fleet"):
        record = {**fleet.model_dump(mode="json", exclude_unset=True), "country": country or None, "region": region or None,
                  "timezone": zone or None}
        try:
            Fleet.model_validate(record)
            live_config.publish([(fleet_key(fid), record)])
        except (ValidationError, PublishError) as exc:
            st.error(f"Not published: {exc}")
        else:
            st.success(f"Published {fleet_key(fid)}: country={country or 'none'}, region={region or 'none'}, "
                       f"time zone={zone or 'none (UTC)'}")

# --- geofences
st.subheader("Geofences")
def _schedule(g: Any) -> str:
    schedule = (g.feature.get("properties") or {}).get("schedule")
    return json.dumps(schedule) if schedule else ""


gtable = pd.DataFrame([{"id": g.id, "name": g.name, "kind": g.kind, "shape": (g.feature.get("geometry") or {}).get("type"),
                        "speed_limit_kmh": g.speed_limit_kmh, "vehicles": ", ".join(sorted(g.vehicles)),
                        "fleets": ", ".join(sorted(g.fleets)), "schedule": _schedule(g)}
                       for g in registry.geofences.values()],
                      columns=["id", "name", "kind", "shape", "speed_limit_kmh", "vehicles", "fleets", "schedule"])
st.dataframe(for_display(gtable), key="admin_geofences", hide_index=True)
if registry.geofences:
    st.plotly_chart(maps.fleet_map(overview, registry.geofences.values(), s.map_style, None), key="admin_map")

upload = st.file_uploader("Upload GeoJSON (FeatureCollection)", type=["geojson", "json"], key="admin_upload")
if upload is not None:
    try:
        doc = json.loads(upload.getvalue().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        st.error(f"Not JSON: {exc}")
        doc = None
    if doc is not None:
        parsed, problems = collect_geofences(doc, upload.name)  # the fleet flows' own parser, feature by feature
        for problem in problems:
            st.warning(problem)
        st.text(f"{len(parsed)} valid geofence(s): {', '.join(sorted(parsed))}")
        if parsed and st.button(f"Publish {len(parsed)} geofence(s)", key="admin_publish_geofences"):
            try:
                n = live_config.publish([(geofence_key(g.id), dict(g.feature)) for g in parsed.values()])
            except PublishError as exc:
                st.error(f"Not published: {exc}")
            else:
                st.success(f"Published {n} geofence(s) to fleet.config")

if registry.geofences:
    gid = st.selectbox("Geofence to delete", sorted(registry.geofences), key="admin_delete_geofence")
    if st.button("Delete geofence", key="admin_delete"):
        try:
            live_config.publish([(geofence_key(gid), None)])
        except PublishError as exc:
            st.error(f"Not published: {exc}")
        else:
            st.success(f"Deleted {geofence_key(gid)}")
