"""A fleet report's tables from stored records: trips, stops, daily summaries, events, routes.

Pure assembly (the InfluxDB reads are ``jobs.fleet_report_data``), so the CLI, the dashboard and the
scheduled e-mails build the same report from the same records, and tests build one without services.
Every time is shown in the report's time zone; days are local days of that zone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pandas as pd

from contracts.alert import Alert
from contracts.trip import Trip
from rules.fleet.config import FleetSettings
from rules.fleet.places import PlaceIndex
from rules.fleet.registry import Registry
from rules.fleet.scoring import EVENT_KEYS
from rules.fleet.stops import Sample, Stop, detect_stops, with_place
from rules.fleet.summaries import DaySummary, driver_days, vehicle_days

TABLES = ("summary_vehicles", "summary_drivers", "trips", "stops", "events")


@dataclass(frozen=True)
class VehicleRecords:
    """What the store holds of one vehicle in the range."""

    vehicle_id: str
    trips: Sequence[Trip] = ()
    alerts: Sequence[Alert] = ()
    samples: Sequence[Sample] = ()  # oldest first
    stops: Sequence[Stop] = ()  # stored by the analytics flow (measurement stops), by start time


def report_stops(rec: VehicleRecords, cfg: FleetSettings) -> list[Stop]:
    """The stored stops, plus the stops computed from the fixes (``detect_stops``, the same code the
    flow runs) that overlap none of them: a range from before stops were stored, a stop that began
    before the range (stored at its start, so not read), and one still going on at the range's end
    that the flow has not announced yet keep their stops."""
    computed = detect_stops(rec.vehicle_id, rec.samples, speed_kmh=cfg.trip_start_speed_kmh, min_duration_s=cfg.trip_min_stop_s,
                            max_gap_s=cfg.trip_max_gap_s)
    extra = [c for c in computed if not any(c.start_ts <= s.end_ts and s.start_ts <= c.end_ts for s in rec.stops)]
    return sorted([*rec.stops, *extra], key=lambda s: s.start_ts)


@dataclass
class Report:
    title: str
    start: datetime
    stop: datetime
    tz: str
    tables: dict[str, pd.DataFrame]
    routes: dict[str, list[tuple[float, float, float]]] = field(default_factory=dict)  # vehicle -> (lat, lon, km/h)
    stops: dict[str, list[Stop]] = field(default_factory=dict)

    def period(self) -> str:
        z = ZoneInfo(self.tz)
        return f"{self.start.astimezone(z):%Y-%m-%d %H:%M} - {self.stop.astimezone(z):%Y-%m-%d %H:%M} ({self.tz})"


def _local(ts_ms: int, tz: str) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S")


def _minutes(s: float) -> float:
    return round(s / 60, 1)


def with_alert_events(trip: Trip, alerts: Iterable[Alert]) -> Trip:
    """The trip's harsh / overspeed counts by kind from the alerts raised during it (InfluxDB keeps
    only their sum per trip; the rules counted exactly these records)."""
    counts = {k: 0 for k in EVENT_KEYS}
    for a in alerts:
        if a.state == "raised" and a.type in counts and trip.start_ts <= a.ts <= trip.end_ts:
            counts[a.type] += 1
    return replace(trip, events=counts)


def _summary_rows(days: Iterable[DaySummary], driver_of: Mapping[str, str | None], per_driver: bool) -> list[dict[str, object]]:
    rows = []
    for d in days:
        head: dict[str, object] = {"day": d.day}
        if per_driver:
            head |= {"driver": d.key, "vehicles": ", ".join(d.vehicles)}
        else:
            head |= {"vehicle_id": d.key, "driver": driver_of.get(d.key) or ""}
        rows.append(head | {
            "trips": d.trips, "distance_km": d.distance_km, "driving_min": _minutes(d.driving_s), "idle_min": _minutes(d.idle_s),
            "max_speed_kmh": d.max_speed_kmh, "mean_speed_kmh": d.mean_speed_kmh, "stops": d.stops,
            "stopped_min": _minutes(d.stopped_s), "alerts": ", ".join(f"{k} {n}" for k, n in d.alerts.items()),
            "fuel_used_pct": d.fuel_used_pct, "safety_score": d.safety_score})
    return rows


SUMMARY_COLUMNS = ["trips", "distance_km", "driving_min", "idle_min", "max_speed_kmh", "mean_speed_kmh", "stops", "stopped_min",
                   "alerts", "fuel_used_pct", "safety_score"]
COLUMNS = {
    "summary_vehicles": ["day", "vehicle_id", "driver", *SUMMARY_COLUMNS],
    "summary_drivers": ["day", "driver", "vehicles", *SUMMARY_COLUMNS],
    "trips": ["vehicle_id", "driver", "start", "end", "start_place", "end_place", "distance_km", "duration_min", "max_speed_kmh",
              "mean_speed_kmh", "idle_min", "harsh_events", "overspeed_events", "score"],
    "stops": ["vehicle_id", "driver", "start", "end", "duration_min", "place", "idle_min", "ignition_off", "ongoing", "lat", "lon"],
    "events": ["time", "vehicle_id", "type", "severity", "state", "place", "message"],
}


def build_report(records: Sequence[VehicleRecords], registry: Registry, start: datetime, stop: datetime, tz: str,
                 cfg: FleetSettings, index: PlaceIndex, title: str = "Fleet report") -> Report:
    """Stops stored or from the fixes (``report_stops``), summaries from trips + stops + alerts + fuel, places where missing."""
    driver_of = {vid: v.owner for vid, v in registry.vehicles.items()}
    trips_rows: list[dict[str, object]] = []
    stop_rows: list[dict[str, object]] = []
    event_rows: list[dict[str, object]] = []
    days: list[DaySummary] = []
    routes: dict[str, list[tuple[float, float, float]]] = {}
    stops_of: dict[str, list[Stop]] = {}
    for rec in sorted(records, key=lambda r: r.vehicle_id):
        vid, driver = rec.vehicle_id, driver_of.get(rec.vehicle_id) or ""
        trips = sorted((with_alert_events(t, rec.alerts) for t in rec.trips), key=lambda t: t.start_ts)
        stops = [s if s.place else with_place(s, index) for s in report_stops(rec, cfg)]
        stops_of[vid] = stops
        routes[vid] = [(s.lat, s.lon, s.speed_kmh) for s in rec.samples]
        days += vehicle_days(vid, trips, stops, rec.alerts, rec.samples, tz, cfg)
        for t in trips:
            trips_rows.append({
                "vehicle_id": vid, "driver": driver, "start": _local(t.start_ts, tz), "end": _local(t.end_ts, tz),
                "start_place": t.start_place or index.label(t.start_lat, t.start_lon),
                "end_place": t.end_place or index.label(t.end_lat, t.end_lon), "distance_km": t.distance_km,
                "duration_min": _minutes(t.duration_s), "max_speed_kmh": t.max_speed_kmh, "mean_speed_kmh": t.mean_speed_kmh,
                "idle_min": _minutes(t.idle_s), "harsh_events": sum(t.events.get(k, 0) for k in EVENT_KEYS if k != "overspeed"),
                "overspeed_events": t.events.get("overspeed", 0), "score": t.safety_score})
        for s in stops:
            stop_rows.append({"vehicle_id": vid, "driver": driver, "start": _local(s.start_ts, tz), "end": _local(s.end_ts, tz),
                              "duration_min": _minutes(s.duration_s), "place": s.place, "idle_min": _minutes(s.idle_s),
                              "ignition_off": s.ignition_off, "ongoing": s.ongoing, "lat": s.lat, "lon": s.lon})
        for a in sorted(rec.alerts, key=lambda a: a.ts):
            event_rows.append({"time": _local(a.ts, tz), "vehicle_id": vid, "type": a.type, "severity": a.severity, "state": a.state,
                               "place": a.place or index.label(a.lat, a.lon) or "", "message": a.message})
    days.sort(key=lambda d: (d.day, d.key))
    tables = {
        "summary_vehicles": pd.DataFrame(_summary_rows(days, driver_of, False), columns=COLUMNS["summary_vehicles"]),
        "summary_drivers": pd.DataFrame(_summary_rows(driver_days(days, driver_of, cfg), driver_of, True), columns=COLUMNS["summary_drivers"]),
        "trips": pd.DataFrame(trips_rows, columns=COLUMNS["trips"]),
        "stops": pd.DataFrame(stop_rows, columns=COLUMNS["stops"]),
        "events": pd.DataFrame(event_rows, columns=COLUMNS["events"]),
    }
    return Report(title, start, stop, tz, tables, routes, stops_of)
