"""The dashboard tests' and the browser test's world, written to the real InfluxDB.

Stored data is built only the way the flows build it: contract records (``parse_telemetry``,
``validate_quote``) and the rules' own records (``make_alert``, ``Trip``, ``HealthReport``,
``DayScore``, ``MinuteStats``, ``compute_spread`` over a quote book, ``ohlc_record``), turned into points by the
production builders of ``contracts/``. So a fixture cannot drift from what the flows write:
a field a builder does not write is not in the test world either.

Every run uses its own ids (``run_id``), so tests never see each other's or the flows'
points, and ``delete_where`` removes what a run wrote.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from influxdb_client import InfluxDBClient, Point, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS

from contracts import alert as A
from contracts.day_score import DayScore
from contracts.health import HealthReport, Issue, ServiceForecast
from contracts.quote import Quote, validate_quote
from contracts.stop import Stop
from contracts.telemetry import Telemetry, parse_telemetry
from contracts.trip import Trip
from rules.crypto.book import BookRules, SymbolBook
from rules.crypto.fees import FeeTable
from rules.crypto.ohlc import OHLC, ohlc_record
from rules.crypto.spread import compute_spread
from rules.fleet.config import FleetSettings
from rules.fleet.stats import MinuteStats
from settings.stack import StackSettings, load_stack_settings
from sinks.influx_points.crypto import ohlc_point, quote_point, spread_point
from sinks.influx_points.fleet import telemetry_point
from sinks.influx_points.fleet_analytics import alert_point, day_point, health_point, stats_point, stop_point, trip_point

MINUTE_MS = 60_000


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


def _ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def fix(vehicle_id: str, at: datetime, lat: float, lon: float, speed_kmh: float, **fields: object) -> Telemetry:
    """A fix as a device publishes it (JSON on ``fleet/<id>/telemetry``), through the contract."""
    doc = {"vehicle_id": vehicle_id, "ts": _ms(at), "lat": lat, "lon": lon, "speed_kmh": speed_kmh, **fields}
    return parse_telemetry(f"fleet/{vehicle_id}/telemetry", json.dumps(doc).encode(), int(time.time() * 1000))


def _minute(v: SeedVehicle, m: int, window_end: datetime) -> MinuteStats:
    """The 1-minute aggregate the stats window folds from 60 fixes (speeds 40+m%20 .. 60+m%20 km/h)."""
    mean, samples = 40.0 + (m % 20), 60
    return MinuteStats(vehicle_id=v.vehicle_id, samples=samples, speed_sum=mean * samples,
                       max_speed_kmh=60.0 + (m % 20), distance_m=700.0, rpm_sum=1800.0 * samples, rpm_samples=samples,
                       max_coolant_c=92.0, last_ts=_ms(window_end) - 1, last_lat=v.lat, last_lon=v.lon,
                       last_fuel_pct=60.0 + m * 0.01, last_battery_v=14.0)


def _health(v: SeedVehicle, i: int, fix_ms: int) -> HealthReport:
    """Attention: a low tire and an active code, the next service in 15,000 km or on 2030-01-31."""
    issues = (Issue(A.TIRE_PRESSURE_LOW, "warning", "tire RR pressure is 180 (limit 190)", "Check tire RR pressure"),
              Issue("dtc:P0301", "warning", "P0301: cylinder 1 misfire detected", "Read code P0301"))
    service = ServiceForecast("oil", "Oil change", date(2030, 1, 31), "months", 15000.0 + i, None, False,
                              "Book service: Oil change")
    return HealthReport(v.vehicle_id, fix_ms, "attention", issues, service)


def fleet_points(vehicles: Iterable[SeedVehicle], now: datetime, history_minutes: int = 180) -> Iterator[Point]:
    """Per vehicle: three recent fixes, ``history_minutes`` of stats_1m, health, one 20-minute trip
    with its route (one fix a minute) and the 30-minute stop before it, the day's score and one alert (critical coolant or info refuel)."""
    moving_kmh = FleetSettings().trip_start_speed_kmh  # what the analytics flow passes to stats_point
    for i, v in enumerate(vehicles):
        last_fix = now - timedelta(seconds=v.fix_age_s)
        for k in range(3):  # three fixes, 10 s apart, ending at the latest fix
            t = last_fix - timedelta(seconds=10 * (2 - k))
            yield telemetry_point(fix(v.vehicle_id, t, v.lat - 0.001 * (2 - k), v.lon, float(v.speed_kmh),
                                      ignition=True, rpm=900.0 + 10 * k, coolant_temp_c=90.0, battery_v=14.1,
                                      fuel_level_pct=60.0, oil_life_pct=40.0,
                                      tire_pressure_kpa={"fl": 230.0, "fr": 231.0, "rl": 229.0, "rr": 180.0},
                                      dtc=["P0301"]), v.fleet_id)
        end = last_fix.replace(second=0, microsecond=0)
        for m in range(history_minutes):
            window_end = end - timedelta(minutes=m)
            yield stats_point(_minute(v, m, window_end), v.fleet_id, _ms(window_end), moving_kmh)
        yield health_point(_health(v, i, _ms(last_fix)), v.fleet_id)
        t_end = last_fix - timedelta(minutes=1)
        t_start = t_end - timedelta(minutes=20)
        events = {"harsh_braking": 1, "harsh_acceleration": 0, "harsh_cornering": 0, "overspeed": 0}
        trip = Trip(trip_id=A.make_alert_id(v.vehicle_id, "trip", _ms(t_start)), vehicle_id=v.vehicle_id,
                    fleet_id=v.fleet_id, start_ts=_ms(t_start), end_ts=_ms(t_end), start_lat=v.lat, start_lon=v.lon,
                    end_lat=v.lat, end_lon=v.lon, distance_km=12.5, duration_s=1200.0, max_speed_kmh=88.0,
                    mean_speed_kmh=37.5, idle_s=60.0, events=events, safety_score=91.0)
        yield trip_point(trip)
        # parked 30 min with the key off before that trip, as the analytics flow stores a stop (no fixes of it are seeded)
        yield stop_point(Stop(v.vehicle_id, _ms(t_start - timedelta(minutes=30)), _ms(t_start), v.lat, v.lon, idle_s=0.0,
                              ignition_off=True, place="Kreuzberg, State of Berlin, DE", fleet_id=v.fleet_id))
        day = last_fix.replace(hour=0, minute=0, second=0, microsecond=0)
        yield day_point(DayScore(v.vehicle_id, day.date().isoformat(), trips=1, distance_km=12.5, duration_s=1200.0,
                                 idle_s=60.0, events=events, score=91.0), v.fleet_id, _ms(day))
        at = _ms(last_fix - timedelta(seconds=1))
        kind, severity = (A.COOLANT_HIGH, "critical") if v.critical_alert else (A.REFUEL, "info")
        yield alert_point(A.make_alert(vehicle_id=v.vehicle_id, fleet_id=v.fleet_id, type=kind, severity=severity,
                                       ts=at, episode_ts=at, message=f"=cmd|{v.vehicle_id}", value=121.0,
                                       threshold=120.0, lat=v.lat, lon=v.lon))
        for m in range(21):  # route of the trip, one fix per minute
            yield telemetry_point(fix(v.vehicle_id, t_start + timedelta(minutes=m), v.lat + 0.002 * m,
                                      v.lon + 0.001 * m, 40.0), v.fleet_id)


def quote(exchange: str, symbol: str, bid: float, at: datetime) -> Quote:
    """A collector's quote (ask half a unit above ``bid``) through the quote contract."""
    return validate_quote({"exchange": exchange, "symbol": symbol, "bid": bid, "ask": bid + 0.5, "last": bid + 0.2,
                           "bid_size": 1.0, "ask_size": 2.0, "base_volume": 10.0, "recv_ts_ms": _ms(at)})


def crypto_points(symbol: str, exchanges: Iterable[str], now: datetime, minutes: int = 50,
                  stale: str | None = None) -> Iterator[Point]:
    """Quotes per exchange (bid 100, 101, ...; ``stale`` one 10 min old), ohlc_1m per exchange, and
    the spread the crypto rules give for that book (stale exchange excluded) every 10 s.

    50 minutes, so that a "last hour" view still holds all of it minutes after the seeding.
    """
    exchanges = list(exchanges)
    book = SymbolBook(symbol)
    for j, ex in enumerate(exchanges):
        bid = 100.0 + j
        q = quote(ex, symbol, bid, now - timedelta(minutes=10 if ex == stale else 0, seconds=2))
        book.apply(q)
        yield quote_point(q)
        for m in range(minutes):
            window_end = (now - timedelta(minutes=m)).replace(second=0, microsecond=0)
            start = window_end - timedelta(minutes=1)
            bar = OHLC(open=bid, high=bid + 1, low=bid - 1, close=bid + 0.3, count=60,
                       open_ts=_ms(start), close_ts=_ms(window_end) - 1)
            yield ohlc_point(ohlc_record(f"{ex}:{symbol}", start, window_end, bar))
    spread = compute_spread(book.view(BookRules()), FeeTable())
    if spread is None:
        raise ValueError(f"{symbol}: fewer than two fresh exchanges, the rules give no spread")
    for k in range(minutes * 6):
        yield spread_point(replace(spread, ts=_ms(now - timedelta(seconds=10 * k + 1))))


def delete_where(client: InfluxDBClient, bucket: str, org: str, predicate: str) -> None:
    """Delete a run's points (predicate on a tag of the run's own unique value)."""
    client.delete_api().delete(datetime(1970, 1, 1, tzinfo=UTC), datetime.now(UTC) + timedelta(days=1),
                               predicate, bucket=bucket, org=org)
