"""Scoped reads of the exchange health (InfluxDB ``exchange_health``), and its table as a trader reads it.

Like ``access.forecast_reads``: query text with Flux parameters, run by the caller's runner (the
dashboard puts its cache in front), shaped into DataFrames. ``latest_health`` keeps each
exchange's newest window only - a figure left out of it (no latency without quotes) is not
taken from an older window - and sorts the worst health first, so a failing exchange tops the
table. ``health_table`` turns it into display strings ("n/a" where a figure is not defined).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from access import flux
from access.flux import Params, TimeBound
from access.reads import Runner, require_prices
from access.scope import Scope
from contracts.exchange_health import HEALTH_LEVELS

HEALTH_COLUMNS = ["exchange", "time", "health", "reason", "state", "quotes", "quotes_per_s", "symbols_listed", "symbols_fresh",
                  "fresh_share", "staleness_s", "latency_p50_ms", "latency_p95_ms", "latency_max_ms", "polls", "errors",
                  "rate_limits", "timeouts", "reconnects", "last_error", "excluded_outlier", "excluded_stale", "exclusions"]
TABLE_COLUMNS = ["Exchange", "Health", "Reason", "Quotes/s", "Fresh symbols", "Newest quote age (s)", "Latency p50 (ms)",
                 "Latency p95 (ms)", "Errors", "Rate limits", "Timeouts", "Reconnects", "Collector", "Window end"]
HISTORY_FIELDS = ("quotes_per_s", "fresh_share", "latency_p50_ms", "errors", "rate_limits", "health")
NA = "n/a"


def latest_flux(bucket: str, lookback: timedelta) -> tuple[str, Params]:
    """The last value of every field of every exchange, with its time."""
    return flux.last_fields(bucket, "exchange_health", lookback, ("exchange",))


def history_flux(bucket: str, start: TimeBound, stop: datetime | None) -> tuple[str, Params]:
    """The chart fields of every exchange's windows in the range."""
    p: Params = {}
    q = flux.head(bucket, "exchange_health", start, stop, p)
    q += f"  |> filter(fn: (r) => {flux.field_in(HISTORY_FIELDS)})\n"
    q += '  |> keep(columns: ["_time", "_field", "_value", "exchange"])\n'
    return q, p


def severity(health: object) -> int:
    """Position of a health level, worst first; unknown text last."""
    return HEALTH_LEVELS.index(str(health)) if str(health) in HEALTH_LEVELS else len(HEALTH_LEVELS)


def latest_health(history: Runner, bucket: str, scope: Scope, lookback: timedelta) -> pd.DataFrame:
    """One row per exchange (``HEALTH_COLUMNS``): its newest window, worst health first, then by exchange."""
    require_prices(scope)
    long = history(*latest_flux(bucket, lookback))
    if long.empty:
        return pd.DataFrame(columns=HEALTH_COLUMNS)
    long = long[long["_time"] == long.groupby("exchange")["_time"].transform("max")]
    out = long.pivot_table(index=["exchange", "_time"], columns="_field", values="_value", aggfunc="last").reset_index()
    out.columns.name = None
    out = out.rename(columns={"_time": "time"}).reindex(columns=HEALTH_COLUMNS)
    out = out.assign(_s=out["health"].map(severity)).sort_values(["_s", "exchange"], ignore_index=True)
    return out.drop(columns="_s")


def health_history(history: Runner, bucket: str, scope: Scope, start: TimeBound, stop: datetime | None) -> pd.DataFrame:
    """``exchange``, ``time`` and the chart fields of every window in the range, oldest first."""
    require_prices(scope)
    long = history(*history_flux(bucket, start, stop))
    cols = ["exchange", "time", *HISTORY_FIELDS]
    if long.empty:
        return pd.DataFrame(columns=cols)
    out = long.pivot_table(index=["exchange", "_time"], columns="_field", values="_value", aggfunc="last").reset_index()
    out.columns.name = None
    return out.rename(columns={"_time": "time"}).reindex(columns=cols).sort_values(["exchange", "time"], ignore_index=True)


def _num(value: object, fmt: str) -> str:
    if value is None or pd.isna(value):
        return NA
    return format(float(value), fmt)  # type: ignore[arg-type]


def health_table(latest: pd.DataFrame) -> pd.DataFrame:
    """The latest health for display, in ``latest``'s order (worst first); every cell a string."""
    rows = []
    for r in latest.itertuples(index=False):
        fresh = NA if pd.isna(r.symbols_listed) else f"{_num(r.symbols_fresh, '.0f')} of {_num(r.symbols_listed, '.0f')}"
        rows.append({
            "Exchange": str(r.exchange), "Health": str(r.health), "Reason": r.reason if isinstance(r.reason, str) else "",
            "Quotes/s": _num(r.quotes_per_s, ".2f"), "Fresh symbols": fresh, "Newest quote age (s)": _num(r.staleness_s, ".1f"),
            "Latency p50 (ms)": _num(r.latency_p50_ms, ".0f"), "Latency p95 (ms)": _num(r.latency_p95_ms, ".0f"),
            "Errors": _num(r.errors, ".0f"), "Rate limits": _num(r.rate_limits, ".0f"), "Timeouts": _num(r.timeouts, ".0f"),
            "Reconnects": _num(r.reconnects, ".0f"), "Collector": str(r.state) if isinstance(r.state, str) else NA,
            "Window end": pd.Timestamp(r.time).strftime("%H:%M:%S") if not pd.isna(r.time) else NA,
        })
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def health_counts(latest: pd.DataFrame) -> dict[str, int]:
    """Exchanges per health level (every level, worst first, zero included)."""
    counts = latest["health"].astype(str).value_counts().to_dict() if not latest.empty else {}
    return {level: int(counts.get(level, 0)) for level in HEALTH_LEVELS}
