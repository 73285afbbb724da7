"""Synthetic points for the dashboard tests and benchmark, written to the real InfluxDB.

Every run uses its own ids (``run_id``), so tests never see each other's or the flows'
points, and ``delete_fleet`` / ``delete_symbol`` remove what a run wrote.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from influxdb_client import InfluxDBClient, Point, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS

from settings.stack import StackSettings, load_stack_settings


class StackUnreachable(RuntimeError):
    """InfluxDB does not answer: the integration tests fail (not skip) with this."""


def operator_client(settings: StackSettings | None = None) -> InfluxDBClient:
    """A client with the operator token; raises StackUnreachable when InfluxDB is down."""
    s = settings or load_stack_settings()
    if not s.influx_token:
        raise StackUnreachable("no INFLUX_TOKEN: run services/stack.sh up (it writes var/stack.env)")
    client = InfluxDBClient(url=s.influx_url, token=s.influx_token, org=s.influx_org, timeout=30_000)
    try:
        ok = client.ping()
    except Exception as exc:  # noqa: BLE001
        raise StackUnreachable(f"InfluxDB at {s.influx_url} unreachable: {exc}") from exc
    if not ok:
        raise StackUnreachable(f"InfluxDB at {s.influx_url} does not answer /ping")
    return client


def new_run_id() -> str:
    return uuid.uuid4().hex[:8]


@dataclass(frozen=True)
class SeedVehicle:
    """What a test vehicle looks like now."""

    vehicle_id: str
    fleet_id: str
    lat: float
    lon: float
    speed_kmh: float
    fix_age_s: float = 5.0
    critical_alert: bool = False


def write(client: InfluxDBClient, bucket: str, org: str, points: Iterable[Point], batch: int = 5000) -> int:
    """Synchronous batched write; returns the number of points."""
    api = client.write_api(write_options=SYNCHRONOUS)
    buf: list[Point] = []
    n = 0
    for p in points:
        buf.append(p)
        if len(buf) >= batch:
            api.write(bucket=bucket, org=org, record=buf, write_precision=WritePrecision.MS)
            n += len(buf)
            buf = []
    if buf:
        api.write(bucket=bucket, org=org, record=buf, write_precision=WritePrecision.MS)
        n += len(buf)
    return n


def fleet_points(vehicles: Iterable[SeedVehicle], now: datetime, history_minutes: int = 180) -> Iterable[Point]:
    """Telemetry (a few recent fixes), stats_1m history, health, one trip, alerts, daily score."""
    for i, v in enumerate(vehicles):
        fix = now - timedelta(seconds=v.fix_age_s)
        for k in range(3):  # three fixes, 10 s apart, ending at the latest fix
            t = fix - timedelta(seconds=10 * (2 - k))
            yield (Point("telemetry").tag("vehicle_id", v.vehicle_id).tag("fleet_id", v.fleet_id)
                   .field("lat", v.lat - 0.001 * (2 - k)).field("lon", v.lon).field("speed_kmh", float(v.speed_kmh))
                   .field("ignition", True).field("rpm", 900.0 + 10 * k).field("coolant_temp_c", 90.0)
                   .field("battery_v", 14.1).field("fuel_level_pct", 60.0).field("tire_fl_kpa", 230.0)
                   .field("tire_fr_kpa", 231.0).field("tire_rl_kpa", 229.0).field("tire_rr_kpa", 180.0)
                   .field("dtc", "P0301").time(t, WritePrecision.MS))
        end = fix.replace(second=0, microsecond=0)
        for m in range(history_minutes):
            t = end - timedelta(minutes=m)
            yield (Point("stats_1m").tag("vehicle_id", v.vehicle_id).tag("fleet_id", v.fleet_id)
                   .field("samples", 60).field("speed_mean_kmh", 40.0 + (m % 20)).field("speed_max_kmh", 60.0 + (m % 20))
                   .field("distance_km", 0.7).field("rpm_mean", 1800.0).field("coolant_max_c", 92.0)
                   .field("fuel_last_pct", 60.0 + m * 0.01).field("battery_last_v", 14.0)
                   .field("lat_last", v.lat).field("lon_last", v.lon).field("moving", True).time(t, WritePrecision.MS))
        yield (Point("health").tag("vehicle_id", v.vehicle_id).tag("fleet_id", v.fleet_id)
               .field("status", "attention").field("suggestions", "Check tire RR pressure; Read code P0301")
               .field("active_dtc", "P0301").field("next_service_km", 15000.0 + i)
               .field("next_service_date", "2030-01-31").field("oil_life_pct", 40.0).field("coolant_temp_c", 90.0)
               .field("battery_v", 14.1).field("tire_min_kpa", 180.0).time(fix, WritePrecision.MS))
        t_end = fix - timedelta(minutes=1)
        t_start = t_end - timedelta(minutes=20)
        yield (Point("trips").tag("vehicle_id", v.vehicle_id).tag("fleet_id", v.fleet_id)
               .field("trip_id", f"trip-{v.vehicle_id}").field("start_ms", int(t_start.timestamp() * 1000))
               .field("end_ms", int(t_end.timestamp() * 1000)).field("distance_km", 12.5).field("duration_s", 1200.0)
               .field("max_speed_kmh", 88.0).field("mean_speed_kmh", 37.5).field("idle_s", 60.0).field("harsh_events", 1)
               .field("overspeed_events", 0).field("score", 91.0).field("start_lat", v.lat).field("start_lon", v.lon)
               .field("end_lat", v.lat).field("end_lon", v.lon).time(t_end, WritePrecision.MS))
        day = fix.replace(hour=0, minute=0, second=0, microsecond=0)
        yield (Point("safety_daily").tag("vehicle_id", v.vehicle_id).tag("fleet_id", v.fleet_id)
               .field("score", 91.0).field("distance_km", 12.5).field("trips", 1).time(day, WritePrecision.MS))
        severity = "critical" if v.critical_alert else "info"
        yield (Point("alerts").tag("vehicle_id", v.vehicle_id).tag("fleet_id", v.fleet_id).tag("type", "coolant_high" if v.critical_alert else "refuel")
               .tag("severity", severity).field("alert_id", f"a-{v.vehicle_id}").field("message", f"=cmd|{v.vehicle_id}")
               .field("value", 121.0).field("threshold", 120.0).field("lat", v.lat).field("lon", v.lon)
               .field("geofence_id", "").time(fix - timedelta(seconds=1), WritePrecision.MS))
        # route of the trip, one fix per minute
        for m in range(21):
            t = t_start + timedelta(minutes=m)
            yield (Point("telemetry").tag("vehicle_id", v.vehicle_id).tag("fleet_id", v.fleet_id)
                   .field("lat", v.lat + 0.002 * m).field("lon", v.lon + 0.001 * m).field("speed_kmh", 40.0)
                   .time(t, WritePrecision.MS))


def crypto_points(symbol: str, exchanges: Iterable[str], now: datetime, minutes: int = 50,
                  stale: str | None = None) -> Iterable[Point]:
    """Quotes per exchange (``stale`` one 10 min old), spreads each 10 s, ohlc_1m per exchange.

    50 minutes, so that a "last hour" view still holds all of it minutes after the seeding.
    """
    exchanges = list(exchanges)
    for j, ex in enumerate(exchanges):
        t = now - timedelta(minutes=10 if ex == stale else 0, seconds=2)
        bid = 100.0 + j
        yield (Point("quotes").tag("exchange", ex).tag("symbol", symbol).field("bid", bid).field("ask", bid + 0.5)
               .field("last", bid + 0.2).field("bid_size", 1.0).field("ask_size", 2.0).field("base_volume", 10.0)
               .field("recv_ts_ms", int(t.timestamp() * 1000)).time(t, WritePrecision.MS))
        for m in range(minutes):
            t = (now - timedelta(minutes=m)).replace(second=0, microsecond=0)
            yield (Point("ohlc_1m").tag("exchange", ex).tag("symbol", symbol).field("open", bid).field("high", bid + 1)
                   .field("low", bid - 1).field("close", bid + 0.3).field("count", 60).time(t, WritePrecision.MS))
    for k in range(minutes * 6):
        t = now - timedelta(seconds=10 * k + 1)
        yield (Point("spreads").tag("symbol", symbol).field("best_bid", 101.0).field("best_bid_exchange", exchanges[-1])
               .field("best_ask", 100.5).field("best_ask_exchange", exchanges[0]).field("mid", 100.75)
               .field("spread", -0.5).field("spread_pct", -0.496).field("arbitrage_pct_after_fees", 0.3)
               .field("exchanges_counted", len(exchanges)).field("exchanges_excluded", 0)
               .field("recv_ts_ms", int(t.timestamp() * 1000)).time(t, WritePrecision.MS))


def delete_where(client: InfluxDBClient, bucket: str, org: str, predicate: str) -> None:
    """Delete a run's points (predicate on a tag of the run's own unique value)."""
    client.delete_api().delete(datetime(1970, 1, 1, tzinfo=UTC), datetime.now(UTC) + timedelta(days=1),
                               predicate, bucket=bucket, org=org)
