"""InfluxDB points of the fleet analytics outputs (alerts, trips, stops, health, daily scores,
1-minute stats, late fixes), as documented in docs/measurements.md."""

from __future__ import annotations

from influxdb_client import Point

from contracts.alert import Alert
from contracts.day_score import DayScore
from contracts.health import HealthReport
from contracts.stop import Stop
from contracts.trip import Trip
from rules.fleet.ordering import LinkStats
from rules.fleet.stats import MinuteStats
from sinks.influx_points.fields import at_ms, set_fields

HARSH_KEYS = ("harsh_braking", "harsh_acceleration", "harsh_cornering")
INT_FIELDS = frozenset({"samples", "trips", "harsh_events", "overspeed_events", "start_ms", "end_ms",
                        "released", "late", "duplicates", "future", "hold_ms"})


def _tags(p: Point, vehicle_id: str, fleet_id: str | None) -> Point:
    p.tag("vehicle_id", vehicle_id)
    if fleet_id:
        p.tag("fleet_id", fleet_id)
    return p


def _fields(p: Point, **fields: object) -> Point:
    return set_fields(p, INT_FIELDS, **fields)


def alert_point(a: Alert) -> Point:
    """``state`` and ``incident_id`` are fields, not tags: incident ids are unbounded (a tag would
    make a series per incident) and a state tag would split the alert series the dashboard counts."""
    p = _tags(Point("alerts"), a.vehicle_id, a.fleet_id).tag("type", a.type).tag("severity", a.severity)
    return at_ms(_fields(p, alert_id=a.alert_id, message=a.message, value=a.value, threshold=a.threshold,
                         lat=a.lat, lon=a.lon, geofence_id=a.geofence_id, state=a.state,
                         incident_id=a.incident_id, place=a.place), a.ts)


def trip_point(t: Trip) -> Point:
    p = _tags(Point("trips"), t.vehicle_id, t.fleet_id)
    return at_ms(_fields(p, trip_id=t.trip_id, start_ms=t.start_ts, end_ms=t.end_ts, distance_km=t.distance_km,
                         duration_s=t.duration_s, max_speed_kmh=t.max_speed_kmh, mean_speed_kmh=t.mean_speed_kmh,
                         idle_s=t.idle_s, harsh_events=sum(t.events.get(k, 0) for k in HARSH_KEYS),
                         overspeed_events=t.events.get("overspeed", 0), score=t.safety_score,
                         start_lat=t.start_lat, start_lon=t.start_lon, end_lat=t.end_lat, end_lon=t.end_lon,
                         start_place=t.start_place, end_place=t.end_place), t.end_ts)


def stop_point(s: Stop) -> Point:
    """At the stop's start: the final record of a stop first announced as ``ongoing`` (same start,
    same series) overwrites that point, and a replay writes the same one."""
    p = _tags(Point("stops"), s.vehicle_id, s.fleet_id)
    return at_ms(_fields(p, stop_id=s.stop_id, start_ms=s.start_ts, end_ms=s.end_ts, duration_s=s.duration_s, idle_s=s.idle_s,
                         lat=s.lat, lon=s.lon, place=s.place, ignition_off=s.ignition_off, ongoing=s.ongoing), s.start_ts)


def health_point(h: HealthReport, fleet_id: str | None) -> Point:
    p = _tags(Point("health"), h.vehicle_id, fleet_id)
    dtc = [i.code.split(":", 1)[1] for i in h.issues if i.code.startswith("dtc:")]
    ns = h.next_service
    return at_ms(_fields(p, status=h.status, suggestions="; ".join(i.suggestion for i in h.issues if i.suggestion),
                         issues="; ".join(i.message for i in h.issues), active_dtc=",".join(dtc),
                         next_service=ns.name if ns else None,
                         next_service_km=ns.remaining_km if ns else None,
                         next_service_date=ns.due_date.isoformat() if ns and ns.due_date else None,
                         next_service_overdue=ns.overdue if ns else None), h.ts)


def day_point(d: DayScore, fleet_id: str | None, day_start_ms: int) -> Point:
    p = _tags(Point("safety_daily"), d.vehicle_id, fleet_id)
    return at_ms(_fields(p, score=d.score, distance_km=d.distance_km, trips=d.trips, idle_s=d.idle_s,
                         day=d.day), day_start_ms)


def stats_point(s: MinuteStats, fleet_id: str | None, window_end_ms: int, moving_kmh: float) -> Point:
    p = _tags(Point("stats_1m"), s.vehicle_id, fleet_id)
    return at_ms(_fields(p, samples=s.samples, speed_mean_kmh=round(s.mean_speed_kmh, 2), speed_max_kmh=s.max_speed_kmh,
                         distance_km=round(s.distance_m / 1000, 4), rpm_mean=s.mean_rpm, coolant_max_c=s.max_coolant_c,
                         fuel_last_pct=s.last_fuel_pct, battery_last_v=s.last_battery_v, lat_last=s.last_lat,
                         lon_last=s.last_lon, moving=s.max_speed_kmh > moving_kmh), window_end_ms)


def link_point(s: LinkStats, fleet_id: str | None) -> Point:
    """A vehicle's ordering counters (once a minute while it sends): how many fixes its link made
    the rules skip as late, and the reorder hold it adapted to."""
    p = _tags(Point("link_stats"), s.vehicle_id, fleet_id)
    return at_ms(_fields(p, released=s.released, late=s.late, duplicates=s.duplicates, future=s.future, hold_ms=s.hold_ms,
                         late_share=round(s.late_share, 5)), s.ts)


def late_point(vehicle_id: str, ts_ms: int, stage: str, reason: str) -> Point:
    """A fix that rules or windows could not use in order: counted here, still stored raw."""
    return at_ms(Point("late_fixes").tag("vehicle_id", vehicle_id).tag("stage", stage).field("reason", reason), ts_ms)
