"""Scoped reads of the forecasts and their skill (InfluxDB ``forecasts``, ``forecast_skill``, ``spreads``),
and the skill table as the trader reads it.

Like ``access.reads``: query text with Flux parameters, run by the caller's runner (the dashboard
puts its caches in front), shaped into DataFrames. ``skill_table`` turns the latest skill of each
symbol, horizon and model into display strings - a figure that is not defined (yet) reads "n/a",
never nan or None - with the learner's row next to the random walk's.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from access import flux
from access.flux import Params, TimeBound
from access.reads import Runner, require_prices
from access.scope import Scope
from rules.crypto.forecast_metrics import SKILL
from rules.crypto.forecast_models import BASELINES, DRIFT, RANDOM_WALK

SKILL_COLUMNS = ["symbol", "horizon", "model", "time", "n", "mae", "mae_random_walk", "mase", "directional_n", "hits",
                 "hit_rate", "binomial_p", "dm_stat", "dm_p_better", "dm_p_worse", "coverage", "verdict"]
FORECAST_FIELDS = ("predicted_price", "lower_price", "upper_price", "base_price", "predicted_return", "target_time_ms")
TABLE_COLUMNS = ["Symbol", "Horizon", "Model", "Scored", "MAE (bp)", "Random walk MAE (bp)", "MASE", "Direction right",
                 "Binomial p", "DM p (better)", "Interval coverage", "Verdict"]
NA = "n/a"


def skill_flux(bucket: str, lookback: timedelta) -> tuple[str, Params]:
    """The last value of every skill field of every symbol, horizon and model, with its time."""
    return flux.last_fields(bucket, "forecast_skill", lookback, ("symbol", "horizon", "model"))


def forecasts_flux(bucket: str, symbol: str, horizon: str, start: TimeBound, stop: datetime | None) -> tuple[str, Params]:
    """Every forecast of one symbol and horizon (all models) in the range (point time = made at)."""
    p: Params = {"p_symbol": symbol, "p_horizon": horizon}
    q = flux.head(bucket, "forecasts", start, stop, p)
    q += f"  |> filter(fn: (r) => r.symbol == p_symbol and r.horizon == p_horizon and {flux.field_in(FORECAST_FIELDS)})\n"
    q += '  |> keep(columns: ["_time", "_field", "_value", "model"])\n'
    return q, p


def mids_flux(bucket: str, symbol: str, start: TimeBound, stop: datetime | None) -> tuple[str, Params]:
    """The cross-exchange mid at the end of each minute (the bar close the forecaster uses)."""
    p: Params = {"p_symbol": symbol, "p_every": timedelta(minutes=1)}
    q = flux.head(bucket, "spreads", start, stop, p)
    q += '  |> filter(fn: (r) => r.symbol == p_symbol and r._field == "mid")\n'
    q += "  |> aggregateWindow(every: p_every, fn: last, createEmpty: false)\n"
    q += '  |> keep(columns: ["_time", "_value"])\n'
    return q, p


def latest_skill(history: Runner, bucket: str, scope: Scope, lookback: timedelta) -> pd.DataFrame:
    """One row per symbol, horizon and model: its newest skill record (``SKILL_COLUMNS``).

    A field left out of the newest point (not defined then) is not taken from an older point."""
    require_prices(scope)
    long = history(*skill_flux(bucket, lookback))
    if long.empty:
        return pd.DataFrame(columns=SKILL_COLUMNS)
    keys = ["symbol", "horizon", "model"]
    newest = long.groupby(keys)["_time"].transform("max")
    long = long[long["_time"] == newest]
    out = long.pivot_table(index=[*keys, "_time"], columns="_field", values="_value", aggfunc="last").reset_index()
    out.columns.name = None
    out = out.rename(columns={"_time": "time"})
    return out.reindex(columns=SKILL_COLUMNS)


def forecast_history(history: Runner, bucket: str, scope: Scope, symbol: str, horizon: str, start: TimeBound,
                     stop: datetime | None) -> pd.DataFrame:
    """Forecasts of one symbol and horizon: ``model``, ``made_at``, ``target_time`` and the prices."""
    require_prices(scope)
    long = history(*forecasts_flux(bucket, symbol, horizon, start, stop))
    cols = ["model", "made_at", "target_time", *FORECAST_FIELDS[:-1]]
    if long.empty:
        return pd.DataFrame(columns=cols)
    out = long.pivot_table(index=["model", "_time"], columns="_field", values="_value", aggfunc="last").reset_index()
    out = out.rename(columns={"_time": "made_at"})
    out["target_time"] = pd.to_datetime(out["target_time_ms"].astype("int64"), unit="ms", utc=True)
    return out.reindex(columns=cols).sort_values(["model", "made_at"], ignore_index=True)


def minute_mids(history: Runner, bucket: str, scope: Scope, symbol: str, start: TimeBound, stop: datetime | None) -> pd.DataFrame:
    """``time`` (end of the minute) and ``mid``: what the forecasts are scored against."""
    require_prices(scope)
    df = history(*mids_flux(bucket, symbol, start, stop))
    if df.empty:
        return pd.DataFrame(columns=["time", "mid"])
    return df.rename(columns={"_time": "time", "_value": "mid"})[["time", "mid"]].sort_values("time", ignore_index=True)


def _minutes(horizon: object) -> int:
    text = str(horizon)
    return int(text[:-1]) if text.endswith("m") and text[:-1].isdigit() else 10**6


def _model_order(model: object) -> int:
    return {DRIFT: 1, RANDOM_WALK: 2}.get(str(model), 0)


def _num(value: object, fmt: str, scale: float = 1.0) -> str:
    if value is None or pd.isna(value):
        return NA
    return format(float(value) * scale, fmt)  # type: ignore[arg-type]


def skill_table(skill: pd.DataFrame, symbol: str | None = None) -> pd.DataFrame:
    """The skill table for display: learner, drift and random walk of each symbol and horizon together,
    every cell a string (``NA`` where a figure is not defined); MAE in basis points of log return."""
    if skill.empty:
        return pd.DataFrame(columns=TABLE_COLUMNS)
    df = skill if symbol is None else skill[skill["symbol"] == symbol]
    df = df.assign(_h=df["horizon"].map(_minutes), _m=df["model"].map(_model_order)).sort_values(["symbol", "_h", "_m"])
    rows = []
    for r in df.itertuples(index=False):
        rows.append({
            "Symbol": str(r.symbol), "Horizon": str(r.horizon), "Model": str(r.model),
            "Scored": _num(r.n, ".0f"), "MAE (bp)": _num(r.mae, ".3f", 1e4),
            "Random walk MAE (bp)": _num(r.mae_random_walk, ".3f", 1e4), "MASE": _num(r.mase, ".4f"),
            "Direction right": NA if pd.isna(r.hit_rate) else f"{float(r.hit_rate):.1%} of {int(r.directional_n)}",
            "Binomial p": _num(r.binomial_p, ".3g"), "DM p (better)": _num(r.dm_p_better, ".3g"),
            "Interval coverage": NA if pd.isna(r.coverage) else f"{float(r.coverage):.1%}",
            "Verdict": str(r.verdict) if isinstance(r.verdict, str) and r.verdict else NA,
        })
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def skill_summary(skill: pd.DataFrame, alpha: float = 0.05) -> str:
    """One sentence: how many model rows claim skill, against how many a coin would give at ``alpha``."""
    models = skill[~skill["model"].isin(BASELINES)] if not skill.empty else skill
    if models.empty:
        return "No skill measured yet: forecasts are scored once their target time has passed."
    claims = int(models["verdict"].astype(str).str.startswith(SKILL).sum())
    tested = len(models)
    return (f"{claims} of {tested} learner rows (symbol x horizon) show skill over a random walk at the {alpha:.0%} level; "
            f"about {alpha * tested:.1f} would by chance alone, so a few isolated 'skill' rows are no evidence.")


LATEST_COLUMNS = ["symbol", "horizon", "model", "made_at", "target_time", *FORECAST_FIELDS[:-1]]


def latest_forecasts_flux(bucket: str, lookback: timedelta, symbols: list[str] | None) -> tuple[str, Params]:
    """The last value of every forecast field of every symbol (or the chosen ones), horizon and model."""
    p: Params = {}
    q = flux.head(bucket, "forecasts", lookback, None, p)
    q += f"  |> filter(fn: (r) => {flux.field_in(FORECAST_FIELDS)})\n" + flux.optional_filter("symbol", symbols, "p_sy", p)
    q += '  |> last()\n  |> keep(columns: ["_time", "_field", "_value", "symbol", "horizon", "model"])\n'
    return q, p


def latest_forecasts(history: Runner, bucket: str, scope: Scope, lookback: timedelta,
                     symbols: list[str] | None = None) -> pd.DataFrame:
    """One row per symbol, horizon and model: its newest forecast (``LATEST_COLUMNS``), ordered by symbol,
    horizon (minutes) and model as the skill table. A field left out of it (no interval) is not taken from an older one."""
    require_prices(scope)
    long = history(*latest_forecasts_flux(bucket, lookback, symbols))
    if long.empty:
        return pd.DataFrame(columns=LATEST_COLUMNS)
    keys = ["symbol", "horizon", "model"]
    long = long[long["_time"] == long.groupby(keys)["_time"].transform("max")]
    out = long.pivot_table(index=[*keys, "_time"], columns="_field", values="_value", aggfunc="last").reset_index()
    out.columns.name = None
    out = out.rename(columns={"_time": "made_at"})
    out["target_time"] = pd.to_datetime(out["target_time_ms"].astype("int64"), unit="ms", utc=True)
    return in_table_order(out).reindex(columns=LATEST_COLUMNS)


def in_table_order(df: pd.DataFrame) -> pd.DataFrame:
    """Rows with ``symbol``, ``horizon``, ``model`` in the skill table's order: by symbol, horizon in minutes, then
    the learner, drift and the random walk."""
    keyed = df.assign(_h=df["horizon"].map(_minutes), _m=df["model"].map(_model_order))
    return keyed.sort_values(["symbol", "_h", "_m"], ignore_index=True).drop(columns=["_h", "_m"])
