"""Flux text and its parameters, built apart from the client so it can be checked without InfluxDB.

Rule: the query *text* is made only of constants of this module and generated parameter
names (``p_v0``, ``p_f1``...); every value that comes from a user, a device or the scope
travels in ``params`` and reaches InfluxDB as a Flux option, never spliced into the text.
Predicates are ``or``-chains of ``r.tag == p_x`` (not ``contains``) so InfluxDB can push
them down to the storage engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from access.scope import Scope

Params = dict[str, Any]
TimeBound = datetime | timedelta

# Field lists are code constants, never user input.
POSITION_FIELDS = ("lat", "lon", "speed_kmh", "heading_deg", "ignition")
TELEMETRY_SERIES_FIELDS = ("speed_kmh", "rpm", "coolant_temp_c", "battery_v", "fuel_level_pct",
                           "tire_fl_kpa", "tire_fr_kpa", "tire_rl_kpa", "tire_rr_kpa")
TIRE_FIELDS = ("tire_fl_kpa", "tire_fr_kpa", "tire_rl_kpa", "tire_rr_kpa")
STATS_MEAN_FIELDS = ("speed_mean_kmh", "rpm_mean", "fuel_last_pct", "battery_last_v")
STATS_MAX_FIELDS = ("speed_max_kmh", "coolant_max_c")
ROUTE_FIELDS = ("lat", "lon", "speed_kmh")
QUOTE_FIELDS = ("bid", "ask", "last", "bid_size", "ask_size", "recv_ts_ms")
SPREAD_FIELDS = ("best_bid", "best_bid_exchange", "best_ask", "best_ask_exchange", "mid", "spread",
                 "spread_pct", "arbitrage_pct_after_fees", "exchanges_counted", "exchanges_excluded")
_TAGS = frozenset({"vehicle_id", "fleet_id", "type", "severity", "exchange", "symbol"})


class EmptyScope(Exception):
    """The scope admits nothing: the caller returns an empty result without asking InfluxDB."""


def any_equal(column: str, values: Sequence[str], prefix: str, params: Params) -> str:
    """``(r.col == p0 or r.col == p1 ...)``; values go into ``params`` under generated names."""
    if column not in _TAGS and not column.startswith("_"):
        raise ValueError(f"not a filterable column: {column}")
    if not values:
        raise EmptyScope(column)
    terms = []
    for i, value in enumerate(values):
        name = f"{prefix}{i}"
        params[name] = str(value)
        terms.append(f"r.{column} == {name}")
    return "(" + " or ".join(terms) + ")"


def field_in(fields: Sequence[str]) -> str:
    """Predicate over constant field names (module constants only)."""
    return "(" + " or ".join(f'r._field == "{f}"' for f in fields) + ")"


def scope_filter(scope: Scope, params: Params) -> str:
    """A ``|> filter`` line restricting rows to the scope ('' for admins); EmptyScope if none."""
    if scope.all_fleets:
        return ""
    terms = []
    if scope.fleets:
        terms.append(any_equal("fleet_id", sorted(scope.fleets), "p_sf", params))
    if scope.vehicles:
        terms.append(any_equal("vehicle_id", sorted(scope.vehicles), "p_sv", params))
    if not terms:
        raise EmptyScope("scope")
    return "  |> filter(fn: (r) => " + " or ".join(terms) + ")\n"


def optional_filter(column: str, values: Sequence[str] | None, prefix: str, params: Params) -> str:
    """A ``|> filter`` line for a user's choice; '' when the user chose nothing (= all)."""
    if not values:
        return ""
    return f"  |> filter(fn: (r) => {any_equal(column, list(values), prefix, params)})\n"


def time_range(start: TimeBound, stop: datetime | None, params: Params) -> str:
    """``range(start: p_start[, stop: p_stop])``; a timedelta start is relative to now (negative)."""
    params["p_start"] = -abs(start) if isinstance(start, timedelta) else start
    if stop is None:
        return "  |> range(start: p_start)\n"
    params["p_stop"] = stop
    return "  |> range(start: p_start, stop: p_stop)\n"


def head(bucket: str, measurement: str, start: TimeBound, stop: datetime | None, params: Params) -> str:
    """``from |> range |> filter(measurement)`` with bucket and times as parameters."""
    params["p_bucket"] = bucket
    return ('from(bucket: p_bucket)\n' + time_range(start, stop, params)
            + f'  |> filter(fn: (r) => r._measurement == "{measurement}")\n')


def last_fields(bucket: str, measurement: str, lookback: timedelta, tags: Sequence[str]) -> tuple[str, Params]:
    """The last value of every field of ``measurement`` per series in the lookback, with its time and ``tags``."""
    p: Params = {}
    columns = ", ".join(f'"{c}"' for c in ("_time", "_field", "_value", *tags))
    return head(bucket, measurement, lookback, None, p) + f"  |> last()\n  |> keep(columns: [{columns}])\n", p


def latest_positions(bucket: str, scope: Scope, lookback: timedelta) -> tuple[str, Params]:
    """Last value of each position field per vehicle (pushed-down ``last()``)."""
    p: Params = {}
    q = head(bucket, "telemetry", lookback, None, p)
    q += f"  |> filter(fn: (r) => {field_in(POSITION_FIELDS)})\n" + scope_filter(scope, p)
    q += '  |> last()\n  |> keep(columns: ["_time", "_field", "_value", "vehicle_id", "fleet_id"])\n'
    return q, p


def recent_alert_counts(bucket: str, scope: Scope, window: timedelta) -> tuple[str, Params]:
    """Warning / critical alerts per vehicle within the window (for the 'alerting' status)."""
    p: Params = {}
    q = head(bucket, "alerts", window, None, p)
    q += '  |> filter(fn: (r) => r._field == "alert_id" and (r.severity == "warning" or r.severity == "critical"))\n'
    q += scope_filter(scope, p)
    q += '  |> group(columns: ["vehicle_id"])\n  |> count()\n'
    return q, p


def vehicle_raw(bucket: str, scope: Scope, vehicle_id: str, start: TimeBound, stop: datetime | None,
                every: timedelta | None) -> tuple[str, Params]:
    """Telemetry of one vehicle (short ranges only), windowed mean when denser than wanted."""
    p: Params = {"p_vehicle": vehicle_id}
    q = head(bucket, "telemetry", start, stop, p)
    q += f"  |> filter(fn: (r) => r.vehicle_id == p_vehicle and {field_in(TELEMETRY_SERIES_FIELDS)})\n"
    q += scope_filter(scope, p)
    if every is not None:
        p["p_every"] = every
        q += "  |> aggregateWindow(every: p_every, fn: mean, createEmpty: false)\n"
    return q + '  |> keep(columns: ["_time", "_field", "_value"])\n', p


def vehicle_stats(bucket: str, scope: Scope, vehicle_id: str, start: TimeBound, stop: datetime | None,
                  every: timedelta | None) -> tuple[str, Params]:
    """One vehicle's stats_1m (windowed mean / max when too many minutes) plus windowed tire means.

    Tires have no aggregate in ``stats_1m``; their windowed mean is computed by the storage
    engine (pushed-down ``aggregateWindow``), so raw points are not shipped to the dashboard.
    """
    p: Params = {"p_vehicle": vehicle_id, "p_tire_every": max(every or timedelta(minutes=1), timedelta(minutes=1))}
    sf = scope_filter(scope, p)
    base = head(bucket, "stats_1m", start, stop, p) + "  |> filter(fn: (r) => r.vehicle_id == p_vehicle)\n" + sf
    if every is not None:
        p["p_every"] = every
        means = base + f"  |> filter(fn: (r) => {field_in(STATS_MEAN_FIELDS)})\n  |> aggregateWindow(every: p_every, fn: mean, createEmpty: false)\n"
        maxes = base + f"  |> filter(fn: (r) => {field_in(STATS_MAX_FIELDS)})\n  |> aggregateWindow(every: p_every, fn: max, createEmpty: false)\n"
    else:
        means = base + f"  |> filter(fn: (r) => {field_in(STATS_MEAN_FIELDS + STATS_MAX_FIELDS)})\n"
        maxes = None
    tires = (head(bucket, "telemetry", start, stop, p) + f"  |> filter(fn: (r) => r.vehicle_id == p_vehicle and {field_in(TIRE_FIELDS)})\n"
             + sf + "  |> aggregateWindow(every: p_tire_every, fn: mean, createEmpty: false)\n")
    keep = '  |> keep(columns: ["_time", "_field", "_value"])\n'
    parts = [f"m = {means}{keep}", f"t = {tires}{keep}"]
    names = ["m", "t"]
    if maxes is not None:
        parts.append(f"x = {maxes}{keep}")
        names.append("x")
    return "\n".join(parts) + f"union(tables: [{', '.join(names)}])\n", p


def latest_of(bucket: str, measurement: str, scope: Scope, vehicle_id: str, lookback: timedelta) -> tuple[str, Params]:
    """Last value of every field of a measurement for one vehicle (health, last DTC)."""
    p: Params = {"p_vehicle": vehicle_id}
    q = head(bucket, measurement, lookback, None, p) + "  |> filter(fn: (r) => r.vehicle_id == p_vehicle)\n"
    q += scope_filter(scope, p) + '  |> last()\n  |> keep(columns: ["_time", "_field", "_value"])\n'
    return q, p


def records(bucket: str, measurement: str, scope: Scope, start: TimeBound, stop: datetime | None, limit: int, *,
            vehicles: Sequence[str] | None = None, fleets: Sequence[str] | None = None,
            types: Sequence[str] | None = None, severities: Sequence[str] | None = None, offset: int = 0) -> tuple[str, Params]:
    """Rows of an event measurement (alerts, trips, safety_daily), newest first, at most ``limit`` after ``offset``."""
    p: Params = {"p_limit": int(limit), "p_offset": int(offset)}
    q = head(bucket, measurement, start, stop, p) + scope_filter(scope, p)
    q += optional_filter("vehicle_id", vehicles, "p_v", p) + optional_filter("fleet_id", fleets, "p_f", p)
    q += optional_filter("type", types, "p_t", p) + optional_filter("severity", severities, "p_s", p)
    q += ('  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")\n'
          '  |> drop(columns: ["_start", "_stop", "_measurement"])\n'
          '  |> group()\n  |> sort(columns: ["_time"], desc: true)\n  |> limit(n: p_limit, offset: p_offset)\n')
    return q, p


def route(bucket: str, scope: Scope, vehicle_id: str, start: datetime, stop: datetime, every: timedelta | None) -> tuple[str, Params]:
    """Positions of one vehicle in a time window (a trip), windowed when long."""
    p: Params = {"p_vehicle": vehicle_id}
    q = head(bucket, "telemetry", start, stop, p)
    q += f"  |> filter(fn: (r) => r.vehicle_id == p_vehicle and {field_in(ROUTE_FIELDS)})\n" + scope_filter(scope, p)
    if every is not None:
        p["p_every"] = every
        q += "  |> aggregateWindow(every: p_every, fn: last, createEmpty: false)\n"
    q += '  |> keep(columns: ["_time", "_field", "_value"])\n'
    return q, p


def symbols(bucket: str, lookback: timedelta) -> tuple[str, Params]:
    """Symbols with spreads in the lookback, from the index (no point scan)."""
    p: Params = {"p_bucket": bucket, "p_start": -abs(lookback)}
    q = ('import "influxdata/influxdb/schema"\n'
         'schema.tagValues(bucket: p_bucket, tag: "symbol", predicate: (r) => r._measurement == "spreads", start: p_start)\n')
    return q, p


def spreads(bucket: str, symbol: str, start: TimeBound, stop: datetime | None, every: timedelta | None) -> tuple[str, Params]:
    """Best bid / ask with exchanges, spread and arbitrage of one symbol; last per window when long."""
    p: Params = {"p_symbol": symbol}
    q = head(bucket, "spreads", start, stop, p)
    q += f"  |> filter(fn: (r) => r.symbol == p_symbol and {field_in(SPREAD_FIELDS)})\n"
    if every is not None:
        p["p_every"] = every
        q += "  |> aggregateWindow(every: p_every, fn: last, createEmpty: false)\n"
    q += '  |> keep(columns: ["_time", "_field", "_value"])\n'
    return q, p


def latest_quotes(bucket: str, symbol: str, lookback: timedelta) -> tuple[str, Params]:
    """Last quote of every exchange for one symbol."""
    p: Params = {"p_symbol": symbol}
    q = head(bucket, "quotes", lookback, None, p)
    q += f"  |> filter(fn: (r) => r.symbol == p_symbol and {field_in(QUOTE_FIELDS)})\n"
    q += '  |> last()\n  |> keep(columns: ["_time", "_field", "_value", "exchange"])\n'
    return q, p


def ohlc(bucket: str, symbol: str, exchanges: Sequence[str] | None, start: TimeBound, stop: datetime | None,
         every: timedelta | None) -> tuple[str, Params]:
    """1-minute OHLC per exchange; re-aggregated (first/max/min/last) into ``every`` when long."""
    p: Params = {"p_symbol": symbol}
    base = head(bucket, "ohlc_1m", start, stop, p) + "  |> filter(fn: (r) => r.symbol == p_symbol)\n"
    base += optional_filter("exchange", exchanges, "p_x", p)
    keep = '  |> keep(columns: ["_time", "_field", "_value", "exchange"])\n'
    if every is None:
        return base + f'  |> filter(fn: (r) => {field_in(("open", "high", "low", "close"))})\n' + keep, p
    p["p_every"] = every
    parts, names = [], []
    for name, fld, fn in (("o", "open", "first"), ("h", "high", "max"), ("l", "low", "min"), ("c", "close", "last")):
        parts.append(f'{name} = {base}  |> filter(fn: (r) => r._field == "{fld}")\n'
                     f"  |> aggregateWindow(every: p_every, fn: {fn}, createEmpty: false)\n{keep}")
        names.append(name)
    return "\n".join(parts) + f"union(tables: [{', '.join(names)}])\n", p
