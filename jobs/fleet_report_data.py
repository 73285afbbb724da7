"""A fleet report's records from InfluxDB: each vehicle's trips, stops, alerts and fixes of a range.

One vehicle at a time (``progress`` is told after each, the CLI prints it), fixes pivoted to the
fields stops and summaries need. Records written before places existed have none; the report
fills them from the offline lookup.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from influxdb_client import InfluxDBClient

from contracts.alert import Alert
from contracts.stop import Stop
from contracts.trip import Trip
from jobs.fleet_report_build import VehicleRecords
from rules.fleet.stops import Sample

PIVOT = 'pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")'


def _flux(measurement: str, fields: Sequence[str] | None = None) -> str:
    keep = "" if fields is None else (" and (" + " or ".join(f'r._field == "{f}"' for f in fields) + ")")
    return (f'from(bucket: p_bucket) |> range(start: p_start, stop: p_stop)\n'
            f'  |> filter(fn: (r) => r._measurement == "{measurement}" and r.vehicle_id == p_vehicle{keep})\n'
            f'  |> {PIVOT} |> sort(columns: ["_time"])')


def _rows(client: InfluxDBClient, flux: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    return [r.values for t in client.query_api().query(flux, params=params) for r in t.records]


def _opt_float(v: Any) -> float | None:
    return None if v is None else float(v)


def _trip(r: dict[str, Any]) -> Trip:
    return Trip(trip_id=str(r["trip_id"]), vehicle_id=str(r["vehicle_id"]), fleet_id=r.get("fleet_id"),
                start_ts=int(r["start_ms"]), end_ts=int(r["end_ms"]), start_lat=float(r["start_lat"]), start_lon=float(r["start_lon"]),
                end_lat=float(r["end_lat"]), end_lon=float(r["end_lon"]), distance_km=float(r["distance_km"]),
                duration_s=float(r["duration_s"]), max_speed_kmh=float(r["max_speed_kmh"]), mean_speed_kmh=float(r["mean_speed_kmh"]),
                idle_s=float(r.get("idle_s") or 0.0), events={},  # kinds from the alerts (build_report)
                safety_score=float(r.get("score") or 100.0), start_place=r.get("start_place"), end_place=r.get("end_place"))


def _alert(r: dict[str, Any]) -> Alert:
    return Alert(alert_id=str(r.get("alert_id") or ""), vehicle_id=str(r["vehicle_id"]), fleet_id=r.get("fleet_id"), type=str(r["type"]),
                 severity=r["severity"], ts=int(r["_time"].timestamp() * 1000), value=_opt_float(r.get("value")),
                 threshold=_opt_float(r.get("threshold")), lat=_opt_float(r.get("lat")), lon=_opt_float(r.get("lon")),
                 message=str(r.get("message") or ""), geofence_id=r.get("geofence_id"), state=r.get("state") or "raised",
                 incident_id=str(r.get("incident_id") or ""), place=r.get("place"))


def stop_from_row(r: dict[str, Any]) -> Stop:
    """A row of the ``stops`` measurement (fields pivoted to columns; missing ones None)."""
    return Stop(vehicle_id=str(r["vehicle_id"]), start_ts=int(r["start_ms"]), end_ts=int(r["end_ms"]), lat=float(r["lat"]), lon=float(r["lon"]),
                idle_s=float(r.get("idle_s") or 0.0), ignition_off=bool(r.get("ignition_off")), ongoing=bool(r.get("ongoing")),
                place=r.get("place"), fleet_id=r.get("fleet_id"))


def _sample(r: dict[str, Any]) -> Sample | None:
    if r.get("lat") is None or r.get("lon") is None:
        return None
    ign = r.get("ignition")
    return Sample(ts_ms=int(r["_time"].timestamp() * 1000), lat=float(r["lat"]), lon=float(r["lon"]),
                  speed_kmh=float(r.get("speed_kmh") or 0.0), ignition=None if ign is None else bool(ign),
                  rpm=_opt_float(r.get("rpm")), fuel_level_pct=_opt_float(r.get("fuel_level_pct")))


def read_vehicle(client: InfluxDBClient, bucket: str, vehicle_id: str, start: datetime, stop: datetime) -> VehicleRecords:
    """Trips (by end time in the range), stops the analytics flow stored (by start time), alerts and fixes of one vehicle."""
    params = {"p_bucket": bucket, "p_start": start, "p_stop": stop, "p_vehicle": vehicle_id}  # Flux options, never spliced
    trips = [_trip(r) for r in _rows(client, _flux("trips"), params)]
    alerts = [_alert(r) for r in _rows(client, _flux("alerts"), params)]
    fixes = [s for s in (_sample(r) for r in _rows(client, _flux("telemetry", ("lat", "lon", "speed_kmh", "ignition", "rpm",
                                                                                     "fuel_level_pct")), params)) if s]
    stops = [stop_from_row(r) for r in _rows(client, _flux("stops"), params)]
    return VehicleRecords(vehicle_id, trips, alerts, fixes, stops)


def read_records(client: InfluxDBClient, bucket: str, vehicles: Sequence[str], start: datetime, stop: datetime,
                 progress: Callable[[int, int, VehicleRecords], None] | None = None) -> list[VehicleRecords]:
    """``read_vehicle`` for each vehicle, telling ``progress(done, total, records)`` after each."""
    out = []
    for i, vid in enumerate(vehicles, 1):
        rec = read_vehicle(client, bucket, vid, start, stop)
        out.append(rec)
        if progress:
            progress(i, len(vehicles), rec)
    return out
