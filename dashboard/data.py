"""The dashboard's reads of InfluxDB: the shared ``access.reads`` behind Streamlit's caches.

Every public function takes the user's ``Scope`` and a time range and returns a pandas
DataFrame; the queries and their shaping live in ``access.reads`` (the API runs the same ones).
What is the dashboard's own: one cached client per process, and result caches - latest values
for ``LIVE_TTL_S``, ranges and events for ``HISTORY_TTL_S`` - shared across sessions.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import streamlit as st
from influxdb_client import InfluxDBClient

from access import reads
from access.flux import Params, TimeBound
from access.reads import ALERT_COLUMNS, POSITION_COLUMNS, TRIP_COLUMNS, Reads, ScopeError, window_for
from access.scope import Scope
from contracts.stop import Stop
from dashboard.config import load_dashboard_settings
from jobs.fleet_report_data import stop_from_row
from settings.stack import StackSettings, load_stack_settings

__all__ = ["ALERT_COLUMNS", "POSITION_COLUMNS", "TRIP_COLUMNS", "ScopeError", "window_for"]

LIVE_TTL_S = 2.0  # latest positions, quotes: at most this old on an auto-refresh
HISTORY_TTL_S = 30.0  # ranges, alerts, trips: shared across sessions for this long
QUERY_TIMEOUT_MS = 30_000


@st.cache_resource(show_spinner=False)
def _client(url: str, org: str, token: str) -> InfluxDBClient:
    """One HTTP client per connection setting, shared by all sessions of the process."""
    return InfluxDBClient(url=url, org=org, token=token, timeout=QUERY_TIMEOUT_MS)


def _stack() -> StackSettings:
    return load_stack_settings()


def _execute(query: str, params: Params) -> pd.DataFrame:
    s = _stack()
    api = _client(s.influx_url, s.influx_org, s.reader_token(load_dashboard_settings().allow_operator_token)).query_api()
    return reads.execute(api, query, params)


@st.cache_data(ttl=LIVE_TTL_S, show_spinner=False, max_entries=500)
def _run_live(query: str, params: Params) -> pd.DataFrame:
    return _execute(query, params)


@st.cache_data(ttl=HISTORY_TTL_S, show_spinner=False, max_entries=500)
def run_history(query: str, params: Params) -> pd.DataFrame:
    """A history query through the dashboard's cache (the forecasts page's reads use it too)."""
    return _execute(query, params)


def _reads() -> Reads:
    """Buckets read per call (tests point the environment at their own buckets)."""
    s = _stack()
    return Reads(live=_run_live, history=run_history, fleet_bucket=s.influx_bucket_fleet, crypto_bucket=s.influx_bucket_crypto)


# ---------------------------------------------------------------- fleet

def latest_positions(scope: Scope, lookback: timedelta) -> pd.DataFrame:
    """One row per vehicle in scope: its last lat/lon/speed/heading/ignition and the fix time."""
    return _reads().latest_positions(scope, lookback)


def recent_alert_counts(scope: Scope, window: timedelta) -> dict[str, int]:
    """Warning / critical alerts per vehicle in the last ``window``."""
    return _reads().recent_alert_counts(scope, window)


def vehicle_series(scope: Scope, vehicle_id: str, start: TimeBound, stop: datetime | None,
                   raw_max_range: timedelta, max_points: int) -> tuple[pd.DataFrame, str]:
    """Time series of one vehicle, one column per signal; and where it came from (telemetry / stats_1m)."""
    return _reads().vehicle_series(scope, vehicle_id, start, stop, raw_max_range, max_points)


def latest_fields(scope: Scope, measurement: str, vehicle_id: str, lookback: timedelta) -> dict[str, Any]:
    """Last value of each field of ``health`` (or ``telemetry``) for one vehicle, plus ``time``."""
    return _reads().latest_fields(scope, measurement, vehicle_id, lookback)


def alerts(scope: Scope, start: TimeBound, stop: datetime | None, limit: int, *, vehicles: list[str] | None = None,
           types: list[str] | None = None, severities: list[str] | None = None) -> pd.DataFrame:
    """Alerts in scope, newest first; empty lists of choices mean 'all'."""
    return _reads().alerts(scope, start, stop, limit, vehicles=vehicles, types=types, severities=severities)


def trips(scope: Scope, start: TimeBound, stop: datetime | None, limit: int, *,
          vehicles: list[str] | None = None, fleets: list[str] | None = None) -> pd.DataFrame:
    """Trips in scope (time = trip end), newest first, with ``start`` / ``end`` as datetimes."""
    return _reads().trips(scope, start, stop, limit, vehicles=vehicles, fleets=fleets)


def stops(scope: Scope, start: TimeBound, stop: datetime | None, limit: int, *, vehicles: list[str] | None = None) -> pd.DataFrame:
    """Stored stops in scope (time = stop start), newest first."""
    return _reads().stops(scope, start, stop, limit, vehicles=vehicles)


def stop_records(scope: Scope, start: TimeBound, stop: datetime | None, limit: int, *, vehicles: list[str] | None = None) -> list[Stop]:
    """``stops`` as the contract's records (a missing field None, never NaN), oldest first."""
    frame = stops(scope, start, stop, limit, vehicles=vehicles)
    rows = [stop_from_row({k: (None if pd.isna(v) else v) for k, v in row.items()}) for row in frame.to_dict("records")]
    return sorted(rows, key=lambda x: x.start_ts)


def safety_daily(scope: Scope, start: TimeBound, stop: datetime | None, limit: int) -> pd.DataFrame:
    """Daily safety score per vehicle in scope."""
    return _reads().safety_daily(scope, start, stop, limit)


def route(scope: Scope, vehicle_id: str, start: datetime, stop: datetime, max_points: int) -> pd.DataFrame:
    """Positions of one vehicle between two instants (a trip), oldest first."""
    return _reads().route(scope, vehicle_id, start, stop, max_points)


# ---------------------------------------------------------------- prices

def symbols(scope: Scope, lookback: timedelta) -> list[str]:
    """Symbols that have spreads in the lookback."""
    return _reads().symbols(scope, lookback)


def spreads(scope: Scope, symbol: str, start: TimeBound, stop: datetime | None, max_points: int) -> pd.DataFrame:
    """Best bid / ask (with exchanges), spread and arbitrage margin of one symbol over time."""
    return _reads().spreads(scope, symbol, start, stop, max_points)


def latest_quotes(scope: Scope, symbol: str, lookback: timedelta) -> pd.DataFrame:
    """Latest quote of each exchange for one symbol, with ``time`` of that quote."""
    return _reads().latest_quotes(scope, symbol, lookback)


def ohlc(scope: Scope, symbol: str, exchanges: list[str] | None, start: TimeBound, stop: datetime | None,
         max_points: int) -> pd.DataFrame:
    """OHLC per exchange (``ohlc_1m``, re-windowed for long ranges)."""
    return _reads().ohlc(scope, symbol, exchanges, start, stop, max_points)
