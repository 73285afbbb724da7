"""Scoped reads of InfluxDB as DataFrames: the data access the dashboard and the API share.

Every read takes the caller's ``Scope`` and returns a pandas DataFrame (empty, with the
expected columns, when there is nothing or the scope admits nothing). Query text comes from
``access.flux``; values travel as Flux parameters. How a query is *run* is the caller's:
``Reads`` gets two runners (live and history), so the dashboard puts Streamlit's caches in
front of them and the API runs them directly - the same queries and the same shaping either way.
Long ranges read the ``stats_1m`` / ``ohlc_1m`` aggregates, windowed by InfluxDB.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
from influxdb_client.client.query_api import QueryApi
from influxdb_client.client.warnings import MissingPivotFunction

from access import flux
from access.flux import EmptyScope, Params, TimeBound
from access.scope import Scope

Runner = Callable[[str, Params], pd.DataFrame]

ALERT_COLUMNS = ["time", "vehicle_id", "fleet_id", "type", "severity", "message", "value", "threshold",
                 "lat", "lon", "geofence_id", "alert_id"]
TRIP_COLUMNS = ["time", "vehicle_id", "fleet_id", "trip_id", "start", "end", "distance_km", "duration_s",
                "max_speed_kmh", "mean_speed_kmh", "idle_s", "harsh_events", "overspeed_events", "score",
                "start_lat", "start_lon", "end_lat", "end_lon"]
POSITION_COLUMNS = ["vehicle_id", "fleet_id", "time", *flux.POSITION_FIELDS]
STOP_COLUMNS = ["time", "vehicle_id", "fleet_id", "stop_id", "start_ms", "end_ms", "duration_s", "idle_s", "lat", "lon", "place",
                "ignition_off", "ongoing"]


class ScopeError(PermissionError):
    """A query was asked for data the scope does not admit (a bug in a caller, or a forged request)."""


def execute(api: QueryApi, query: str, params: Params) -> pd.DataFrame:
    """Run one Flux query; the tables of the result concatenated, without ``result`` / ``table``."""
    with warnings.catch_warnings():
        # long rows are pivoted here, per query, where mixed field types are easier to handle
        warnings.simplefilter("ignore", MissingPivotFunction)
        frames = api.query_data_frame(query, params=params)
    if isinstance(frames, list):
        frames = [f for f in frames if not f.empty]
        frames = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return frames.drop(columns=[c for c in ("result", "table") if c in frames.columns])


def wide(long: pd.DataFrame, index: list[str]) -> pd.DataFrame:
    """``_time/_field/_value`` rows -> one column per field (values keep their own type)."""
    if long.empty:
        return pd.DataFrame(columns=index)
    long = long.copy()
    for col in index:  # a tag missing on every row of a result (e.g. no fleet_id) is absent from the frame
        if col not in long.columns:
            long[col] = None
    out = long.groupby([*index, "_field"], dropna=False, sort=False)["_value"].last().unstack("_field")
    out.columns.name = None
    out = out.reset_index()
    for col in index:
        if out[col].isna().any():
            out[col] = out[col].astype(object).where(out[col].notna(), None)
    return out


def span(start: TimeBound, stop: datetime | None) -> timedelta:
    """Length of a range whose start may be relative (a timedelta back from now)."""
    if isinstance(start, timedelta):
        return abs(start)
    return (stop or datetime.now(UTC)) - start


def window_for(start: TimeBound, stop: datetime | None, max_points: int, base: timedelta) -> timedelta | None:
    """Window that keeps a series under ``max_points``; None when the base resolution fits."""
    length = span(start, stop)
    if length / base <= max_points:
        return None
    seconds = max(int(length.total_seconds() / max_points), int(base.total_seconds()))
    return timedelta(seconds=seconds)


def require_vehicle(scope: Scope, vehicle_id: str) -> None:
    """Refuse early what is surely outside; the Flux scope filter covers the rest (fleet membership)."""
    if not scope.sees_fleet_data or (not scope.all_fleets and vehicle_id not in scope.vehicles and not scope.fleets):
        raise ScopeError(f"vehicle {vehicle_id!r} is outside the scope")


def require_prices(scope: Scope) -> None:
    """Refuse price reads to a scope without prices."""
    if not scope.prices:
        raise ScopeError("prices are outside the scope")


@dataclass(frozen=True)
class Reads:
    """The scoped reads over two runners: ``live`` (latest values) and ``history`` (ranges, events)."""

    live: Runner
    history: Runner
    fleet_bucket: str
    crypto_bucket: str

    # ------------------------------------------------------------ fleet

    def latest_positions(self, scope: Scope, lookback: timedelta) -> pd.DataFrame:
        """One row per vehicle in scope: its last lat/lon/speed/heading/ignition and the fix time."""
        try:
            q, p = flux.latest_positions(self.fleet_bucket, scope, lookback)
        except EmptyScope:
            return pd.DataFrame(columns=POSITION_COLUMNS)
        long = self.live(q, p)
        if long.empty:
            return pd.DataFrame(columns=POSITION_COLUMNS)
        times = long[long["_field"] == "lat"].set_index("vehicle_id")["_time"]
        out = wide(long, ["vehicle_id", "fleet_id"])
        out["time"] = out["vehicle_id"].map(times)
        for col in POSITION_COLUMNS:
            if col not in out.columns:
                out[col] = None
        out = out.dropna(subset=["lat", "lon", "time"])
        return out[POSITION_COLUMNS].sort_values("vehicle_id", ignore_index=True)

    def recent_alert_counts(self, scope: Scope, window: timedelta) -> dict[str, int]:
        """Warning / critical alerts per vehicle in the last ``window``."""
        try:
            q, p = flux.recent_alert_counts(self.fleet_bucket, scope, window)
        except EmptyScope:
            return {}
        df = self.live(q, p)
        if df.empty:
            return {}
        return {str(v): int(n) for v, n in zip(df["vehicle_id"], df["_value"], strict=True)}

    def vehicle_series(self, scope: Scope, vehicle_id: str, start: TimeBound, stop: datetime | None,
                       raw_max_range: timedelta, max_points: int) -> tuple[pd.DataFrame, str]:
        """Time series of one vehicle, one column per signal; and where it came from.

        Up to ``raw_max_range`` it is raw telemetry (windowed if denser than ``max_points``);
        longer ranges read ``stats_1m``.
        """
        require_vehicle(scope, vehicle_id)
        try:
            if span(start, stop) <= raw_max_range:
                every = window_for(start, stop, max_points, timedelta(seconds=1))
                q, p = flux.vehicle_raw(self.fleet_bucket, scope, vehicle_id, start, stop, every)
                source = "telemetry" + (f", mean per {every}" if every else "")
            else:
                every = window_for(start, stop, max_points, timedelta(minutes=1))
                q, p = flux.vehicle_stats(self.fleet_bucket, scope, vehicle_id, start, stop, every)
                source = "stats_1m" + (f", per {every}" if every else "")
        except EmptyScope:
            return pd.DataFrame(columns=["time"]), "none"
        df = wide(self.history(q, p), ["_time"]).rename(columns={"_time": "time"})
        return df.sort_values("time", ignore_index=True), source

    def latest_fields(self, scope: Scope, measurement: str, vehicle_id: str, lookback: timedelta) -> dict[str, Any]:
        """Last value of each field of ``health`` (or ``telemetry``) for one vehicle, plus ``time``."""
        if measurement not in ("health", "telemetry"):
            raise ValueError(measurement)
        require_vehicle(scope, vehicle_id)
        try:
            q, p = flux.latest_of(self.fleet_bucket, measurement, scope, vehicle_id, lookback)
        except EmptyScope:
            return {}
        df = self.live(q, p)
        if df.empty:
            return {}
        out: dict[str, Any] = dict(zip(df["_field"], df["_value"], strict=True))
        out["time"] = df["_time"].max()
        return out

    def _records(self, measurement: str, columns: list[str], scope: Scope, start: TimeBound, stop: datetime | None,
                 limit: int, offset: int = 0, **choices: list[str] | None) -> pd.DataFrame:
        try:
            q, p = flux.records(self.fleet_bucket, measurement, scope, start, stop, limit, offset=offset, **choices)
        except EmptyScope:
            return pd.DataFrame(columns=columns)
        df = self.history(q, p).rename(columns={"_time": "time"})
        for col in columns:
            if col not in df.columns:
                df[col] = None
        return df[columns + [c for c in df.columns if c not in columns]]

    def alerts(self, scope: Scope, start: TimeBound, stop: datetime | None, limit: int, *, vehicles: list[str] | None = None,
               types: list[str] | None = None, severities: list[str] | None = None, offset: int = 0) -> pd.DataFrame:
        """Alerts in scope, newest first, after skipping ``offset``; empty lists of choices mean 'all'."""
        return self._records("alerts", ALERT_COLUMNS, scope, start, stop, limit, offset, vehicles=vehicles, types=types,
                             severities=severities)

    def trips(self, scope: Scope, start: TimeBound, stop: datetime | None, limit: int, *,
              vehicles: list[str] | None = None, fleets: list[str] | None = None, offset: int = 0) -> pd.DataFrame:
        """Trips in scope (time = trip end), newest first, with ``start`` / ``end`` as datetimes."""
        df = self._records("trips", TRIP_COLUMNS, scope, start, stop, limit, offset, vehicles=vehicles, fleets=fleets)
        df["start"] = pd.to_datetime(pd.to_numeric(df["start_ms"], errors="coerce") if "start_ms" in df else None, unit="ms", utc=True)
        df["end"] = pd.to_datetime(pd.to_numeric(df["end_ms"], errors="coerce") if "end_ms" in df else None, unit="ms", utc=True)
        return df

    def stops(self, scope: Scope, start: TimeBound, stop: datetime | None, limit: int, *,
              vehicles: list[str] | None = None, offset: int = 0) -> pd.DataFrame:
        """Stops the analytics flow stored in scope (time = stop start), newest first; a stop first
        announced as ongoing is one row (its final record overwrote the point)."""
        return self._records("stops", STOP_COLUMNS, scope, start, stop, limit, offset, vehicles=vehicles)

    def safety_daily(self, scope: Scope, start: TimeBound, stop: datetime | None, limit: int) -> pd.DataFrame:
        """Daily safety score per vehicle in scope."""
        return self._records("safety_daily", ["time", "vehicle_id", "fleet_id", "score", "distance_km", "trips"],
                             scope, start, stop, limit)

    def route(self, scope: Scope, vehicle_id: str, start: datetime, stop: datetime, max_points: int) -> pd.DataFrame:
        """Positions of one vehicle between two instants (a trip), oldest first."""
        require_vehicle(scope, vehicle_id)
        every = window_for(start, stop, max_points, timedelta(seconds=1))
        try:
            q, p = flux.route(self.fleet_bucket, scope, vehicle_id, start, stop, every)
        except EmptyScope:
            return pd.DataFrame(columns=["time", "lat", "lon", "speed_kmh"])
        df = wide(self.history(q, p), ["_time"]).rename(columns={"_time": "time"})
        return df.dropna(subset=[c for c in ("lat", "lon") if c in df.columns]).sort_values("time", ignore_index=True)

    # ------------------------------------------------------------ prices

    def symbols(self, scope: Scope, lookback: timedelta) -> list[str]:
        """Symbols that have spreads in the lookback."""
        require_prices(scope)
        df = self.history(*flux.symbols(self.crypto_bucket, lookback))
        return sorted(str(v) for v in df["_value"]) if not df.empty else []

    def spreads(self, scope: Scope, symbol: str, start: TimeBound, stop: datetime | None, max_points: int) -> pd.DataFrame:
        """Best bid / ask (with exchanges), spread and arbitrage margin of one symbol over time."""
        require_prices(scope)
        every = window_for(start, stop, max_points, timedelta(seconds=1))
        df = wide(self.history(*flux.spreads(self.crypto_bucket, symbol, start, stop, every)), ["_time"])
        return df.rename(columns={"_time": "time"}).sort_values("time", ignore_index=True)

    def latest_quotes(self, scope: Scope, symbol: str, lookback: timedelta) -> pd.DataFrame:
        """Latest quote of each exchange for one symbol, with ``time`` of that quote."""
        require_prices(scope)
        long = self.live(*flux.latest_quotes(self.crypto_bucket, symbol, lookback))
        if long.empty:
            return pd.DataFrame(columns=["exchange", "time", *flux.QUOTE_FIELDS])
        times = long.groupby("exchange")["_time"].max()
        out = wide(long, ["exchange"])
        out["time"] = out["exchange"].map(times)
        return out.sort_values("exchange", ignore_index=True)

    def ohlc(self, scope: Scope, symbol: str, exchanges: list[str] | None, start: TimeBound, stop: datetime | None,
             max_points: int) -> pd.DataFrame:
        """OHLC per exchange (``ohlc_1m``, re-windowed for long ranges)."""
        require_prices(scope)
        every = window_for(start, stop, max_points, timedelta(minutes=1))
        df = wide(self.history(*flux.ohlc(self.crypto_bucket, symbol, exchanges, start, stop, every)), ["_time", "exchange"])
        return df.rename(columns={"_time": "time"}).sort_values(["exchange", "time"], ignore_index=True)
