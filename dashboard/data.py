"""The only module that talks to InfluxDB: one cached client, cached query results, scoped queries.

Every public function takes the user's ``Scope`` and a time range and returns a pandas
DataFrame (empty, with the expected columns, when there is nothing or the scope admits
nothing). Query text comes from ``dashboard.flux``; values travel as Flux parameters.
Long ranges read the ``stats_1m`` / ``ohlc_1m`` aggregates, windowed by InfluxDB.
"""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import streamlit as st
from influxdb_client import InfluxDBClient
from influxdb_client.client.warnings import MissingPivotFunction

from dashboard import flux
from dashboard.config import load_dashboard_settings
from dashboard.flux import EmptyScope, Params, TimeBound
from dashboard.scope import Scope
from settings.stack import StackSettings, load_stack_settings

LIVE_TTL_S = 2.0  # latest positions, quotes: at most this old on an auto-refresh
HISTORY_TTL_S = 30.0  # ranges, alerts, trips: shared across sessions for this long
QUERY_TIMEOUT_MS = 30_000

ALERT_COLUMNS = ["time", "vehicle_id", "fleet_id", "type", "severity", "message", "value", "threshold",
                 "lat", "lon", "geofence_id", "alert_id"]
TRIP_COLUMNS = ["time", "vehicle_id", "fleet_id", "trip_id", "start", "end", "distance_km", "duration_s",
                "max_speed_kmh", "mean_speed_kmh", "idle_s", "harsh_events", "overspeed_events", "score",
                "start_lat", "start_lon", "end_lat", "end_lon"]
POSITION_COLUMNS = ["vehicle_id", "fleet_id", "time", *flux.POSITION_FIELDS]


class ScopeError(PermissionError):
    """A query was asked for data the scope does not admit (a bug in a page, or a forged request)."""


@st.cache_resource(show_spinner=False)
def _client(url: str, org: str, token: str) -> InfluxDBClient:
    """One HTTP client per connection setting, shared by all sessions of the process."""
    return InfluxDBClient(url=url, org=org, token=token, timeout=QUERY_TIMEOUT_MS)


def _stack() -> StackSettings:
    return load_stack_settings()


def _execute(query: str, params: Params) -> pd.DataFrame:
    s = _stack()
    api = _client(s.influx_url, s.influx_org, s.reader_token(load_dashboard_settings().allow_operator_token)).query_api()
    with warnings.catch_warnings():
        # long rows are pivoted here, per query, where mixed field types are easier to handle
        warnings.simplefilter("ignore", MissingPivotFunction)
        frames = api.query_data_frame(query, params=params)
    if isinstance(frames, list):
        frames = [f for f in frames if not f.empty]
        frames = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return frames.drop(columns=[c for c in ("result", "table") if c in frames.columns])


@st.cache_data(ttl=LIVE_TTL_S, show_spinner=False, max_entries=500)
def _run_live(query: str, params: Params) -> pd.DataFrame:
    return _execute(query, params)


@st.cache_data(ttl=HISTORY_TTL_S, show_spinner=False, max_entries=500)
def _run_history(query: str, params: Params) -> pd.DataFrame:
    return _execute(query, params)


def _wide(long: pd.DataFrame, index: list[str]) -> pd.DataFrame:
    """``_time/_field/_value`` rows -> one column per field (values keep their own type)."""
    if long.empty:
        return pd.DataFrame(columns=index)
    long = long.copy()
    for col in index:  # a tag missing on every row of a result (e.g. no fleet_id) is absent from the frame
        if col not in long.columns:
            long[col] = None
    wide = long.groupby([*index, "_field"], dropna=False, sort=False)["_value"].last().unstack("_field")
    wide.columns.name = None
    wide = wide.reset_index()
    for col in index:
        if wide[col].isna().any():
            wide[col] = wide[col].astype(object).where(wide[col].notna(), None)
    return wide


def _span(start: TimeBound, stop: datetime | None) -> timedelta:
    if isinstance(start, timedelta):
        return abs(start)
    return (stop or datetime.now(UTC)) - start


def window_for(start: TimeBound, stop: datetime | None, max_points: int, base: timedelta) -> timedelta | None:
    """Window that keeps a series under ``max_points``; None when the base resolution fits."""
    span = _span(start, stop)
    if span / base <= max_points:
        return None
    seconds = max(int(span.total_seconds() / max_points), int(base.total_seconds()))
    return timedelta(seconds=seconds)


def _bucket_fleet() -> str:
    return _stack().influx_bucket_fleet


def _bucket_crypto() -> str:
    return _stack().influx_bucket_crypto


def _require_vehicle(scope: Scope, vehicle_id: str) -> None:
    """Refuse early what is surely outside; the Flux scope filter covers the rest (fleet membership)."""
    if not scope.sees_fleet_data or (not scope.all_fleets and vehicle_id not in scope.vehicles and not scope.fleets):
        raise ScopeError(f"vehicle {vehicle_id!r} is outside the scope")


def _require_prices(scope: Scope) -> None:
    if not scope.prices:
        raise ScopeError("prices are outside the scope")


# ---------------------------------------------------------------- fleet

def latest_positions(scope: Scope, lookback: timedelta) -> pd.DataFrame:
    """One row per vehicle in scope: its last lat/lon/speed/heading/ignition and the fix time."""
    try:
        q, p = flux.latest_positions(_bucket_fleet(), scope, lookback)
    except EmptyScope:
        return pd.DataFrame(columns=POSITION_COLUMNS)
    long = _run_live(q, p)
    if long.empty:
        return pd.DataFrame(columns=POSITION_COLUMNS)
    times = long[long["_field"] == "lat"].set_index("vehicle_id")["_time"]
    wide = _wide(long, ["vehicle_id", "fleet_id"])
    wide["time"] = wide["vehicle_id"].map(times)
    for col in POSITION_COLUMNS:
        if col not in wide.columns:
            wide[col] = None
    wide = wide.dropna(subset=["lat", "lon", "time"])
    return wide[POSITION_COLUMNS].sort_values("vehicle_id", ignore_index=True)


def recent_alert_counts(scope: Scope, window: timedelta) -> dict[str, int]:
    """Warning / critical alerts per vehicle in the last ``window``."""
    try:
        q, p = flux.recent_alert_counts(_bucket_fleet(), scope, window)
    except EmptyScope:
        return {}
    df = _run_live(q, p)
    if df.empty:
        return {}
    return {str(v): int(n) for v, n in zip(df["vehicle_id"], df["_value"], strict=True)}


def vehicle_series(scope: Scope, vehicle_id: str, start: TimeBound, stop: datetime | None,
                   raw_max_range: timedelta, max_points: int) -> tuple[pd.DataFrame, str]:
    """Time series of one vehicle, one column per signal; and where it came from.

    Up to ``raw_max_range`` it is raw telemetry (windowed if denser than ``max_points``);
    longer ranges read ``stats_1m``.
    """
    _require_vehicle(scope, vehicle_id)
    bucket = _bucket_fleet()
    try:
        if _span(start, stop) <= raw_max_range:
            every = window_for(start, stop, max_points, timedelta(seconds=1))
            q, p = flux.vehicle_raw(bucket, scope, vehicle_id, start, stop, every)
            source = "telemetry" + (f", mean per {every}" if every else "")
        else:
            every = window_for(start, stop, max_points, timedelta(minutes=1))
            q, p = flux.vehicle_stats(bucket, scope, vehicle_id, start, stop, every)
            source = "stats_1m" + (f", per {every}" if every else "")
    except EmptyScope:
        return pd.DataFrame(columns=["time"]), "none"
    df = _wide(_run_history(q, p), ["_time"]).rename(columns={"_time": "time"})
    return df.sort_values("time", ignore_index=True), source


def latest_fields(scope: Scope, measurement: str, vehicle_id: str, lookback: timedelta) -> dict[str, Any]:
    """Last value of each field of ``health`` (or ``telemetry``) for one vehicle, plus ``time``."""
    if measurement not in ("health", "telemetry"):
        raise ValueError(measurement)
    _require_vehicle(scope, vehicle_id)
    try:
        q, p = flux.latest_of(_bucket_fleet(), measurement, scope, vehicle_id, lookback)
    except EmptyScope:
        return {}
    df = _run_live(q, p)
    if df.empty:
        return {}
    out: dict[str, Any] = dict(zip(df["_field"], df["_value"], strict=True))
    out["time"] = df["_time"].max()
    return out


def _records(measurement: str, columns: list[str], scope: Scope, start: TimeBound, stop: datetime | None,
             limit: int, **choices: list[str] | None) -> pd.DataFrame:
    try:
        q, p = flux.records(_bucket_fleet(), measurement, scope, start, stop, limit, **choices)
    except EmptyScope:
        return pd.DataFrame(columns=columns)
    df = _run_history(q, p).rename(columns={"_time": "time"})
    for col in columns:
        if col not in df.columns:
            df[col] = None
    return df[columns + [c for c in df.columns if c not in columns]]


def alerts(scope: Scope, start: TimeBound, stop: datetime | None, limit: int, *, vehicles: list[str] | None = None,
           types: list[str] | None = None, severities: list[str] | None = None) -> pd.DataFrame:
    """Alerts in scope, newest first; empty lists of choices mean 'all'."""
    return _records("alerts", ALERT_COLUMNS, scope, start, stop, limit, vehicles=vehicles, types=types, severities=severities)


def trips(scope: Scope, start: TimeBound, stop: datetime | None, limit: int, *,
          vehicles: list[str] | None = None, fleets: list[str] | None = None) -> pd.DataFrame:
    """Trips in scope (time = trip end), newest first, with ``start`` / ``end`` as datetimes."""
    df = _records("trips", TRIP_COLUMNS, scope, start, stop, limit, vehicles=vehicles, fleets=fleets)
    df["start"] = pd.to_datetime(pd.to_numeric(df["start_ms"], errors="coerce") if "start_ms" in df else None, unit="ms", utc=True)
    df["end"] = pd.to_datetime(pd.to_numeric(df["end_ms"], errors="coerce") if "end_ms" in df else None, unit="ms", utc=True)
    return df


def safety_daily(scope: Scope, start: TimeBound, stop: datetime | None, limit: int) -> pd.DataFrame:
    """Daily safety score per vehicle in scope."""
    return _records("safety_daily", ["time", "vehicle_id", "fleet_id", "score", "distance_km", "trips"],
                    scope, start, stop, limit)


def route(scope: Scope, vehicle_id: str, start: datetime, stop: datetime, max_points: int) -> pd.DataFrame:
    """Positions of one vehicle between two instants (a trip), oldest first."""
    _require_vehicle(scope, vehicle_id)
    every = window_for(start, stop, max_points, timedelta(seconds=1))
    try:
        q, p = flux.route(_bucket_fleet(), scope, vehicle_id, start, stop, every)
    except EmptyScope:
        return pd.DataFrame(columns=["time", "lat", "lon", "speed_kmh"])
    df = _wide(_run_history(q, p), ["_time"]).rename(columns={"_time": "time"})
    return df.dropna(subset=[c for c in ("lat", "lon") if c in df.columns]).sort_values("time", ignore_index=True)


# ---------------------------------------------------------------- prices

def symbols(scope: Scope, lookback: timedelta) -> list[str]:
    """Symbols that have spreads in the lookback."""
    _require_prices(scope)
    df = _run_history(*flux.symbols(_bucket_crypto(), lookback))
    return sorted(str(v) for v in df["_value"]) if not df.empty else []


def spreads(scope: Scope, symbol: str, start: TimeBound, stop: datetime | None, max_points: int) -> pd.DataFrame:
    """Best bid / ask (with exchanges), spread and arbitrage margin of one symbol over time."""
    _require_prices(scope)
    every = window_for(start, stop, max_points, timedelta(seconds=1))
    df = _wide(_run_history(*flux.spreads(_bucket_crypto(), symbol, start, stop, every)), ["_time"])
    return df.rename(columns={"_time": "time"}).sort_values("time", ignore_index=True)


def latest_quotes(scope: Scope, symbol: str, lookback: timedelta) -> pd.DataFrame:
    """Latest quote of each exchange for one symbol, with ``time`` of that quote."""
    _require_prices(scope)
    long = _run_live(*flux.latest_quotes(_bucket_crypto(), symbol, lookback))
    if long.empty:
        return pd.DataFrame(columns=["exchange", "time", *flux.QUOTE_FIELDS])
    times = long.groupby("exchange")["_time"].max()
    wide = _wide(long, ["exchange"])
    wide["time"] = wide["exchange"].map(times)
    return wide.sort_values("exchange", ignore_index=True)


def ohlc(scope: Scope, symbol: str, exchanges: list[str] | None, start: TimeBound, stop: datetime | None,
         max_points: int) -> pd.DataFrame:
    """OHLC per exchange (``ohlc_1m``, re-windowed for long ranges)."""
    _require_prices(scope)
    every = window_for(start, stop, max_points, timedelta(minutes=1))
    df = _wide(_run_history(*flux.ohlc(_bucket_crypto(), symbol, exchanges, start, stop, every)), ["_time", "exchange"])
    return df.rename(columns={"_time": "time"}).sort_values(["exchange", "time"], ignore_index=True)
