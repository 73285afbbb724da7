"""Price reads (scope ``crypto:read``): symbols, spreads, quotes, OHLC, forecasts with their skill, exchange health.

Forecasts and exchange health are read through ``access.forecast_reads`` / ``access.exchange_health_reads``
with the dashboard pages' lookbacks, so a trader's token and an admin's see what those pages show.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Security
from pydantic import BaseModel, Field

from access import exchange_health_reads, forecast_reads
from api.context import ApiContext, get_context
from api.fleet import page_limit, time_window
from api.frames import rows
from api.models import Candle, Ohlc, Quote, Quotes, SpreadPoint, Spreads, Symbols
from api.problems import not_found
from api.security import Principal, current_principal
from contracts.exchange_health import HEALTH_LEVELS

router = APIRouter(prefix="/crypto", tags=["crypto"])
PriceReader = Annotated[Principal, Security(current_principal, scopes=["crypto:read"])]
Context = Annotated[ApiContext, Depends(get_context)]
SPREAD_FIELDS = list(SpreadPoint.model_fields)
SKILL_LOOKBACK = timedelta(days=7)  # the Forecasts page's
HEALTH_LOOKBACK = timedelta(minutes=15)  # the Exchange health page's


@router.get("/symbols", response_model=Symbols, summary="Symbols with spreads in the last API_SYMBOL_LOOKBACK_H")
def list_symbols(principal: PriceReader, ctx: Context) -> Symbols:
    return Symbols(symbols=ctx.reads.symbols(principal.data, timedelta(hours=ctx.settings.symbol_lookback_h)))


@router.get("/spreads", response_model=Spreads, summary="Best bid / ask across exchanges, spread and arbitrage margin over time",
            responses={404: {"description": "no spreads for this symbol in the lookback"}})
def spreads(principal: PriceReader, ctx: Context, symbol: Annotated[str, Query(description="e.g. BTC/USDT")],
            start: Annotated[datetime | None, Query(alias="from", description="ISO 8601; default: API_DEFAULT_RANGE_H before to")] = None,
            stop: Annotated[datetime | None, Query(alias="to", description="ISO 8601; default: now")] = None,
            limit: Annotated[int | None, Query(description="most points; longer ranges keep the last per window")] = None) -> Spreads:
    """Oldest first; at most ``limit`` points (InfluxDB keeps the last spread of each window)."""
    n = page_limit(ctx, limit)
    t0, t1 = time_window(ctx, start, stop, timedelta(hours=ctx.settings.default_range_h))
    _known(principal, ctx, symbol)
    df = ctx.reads.spreads(principal.data, symbol, t0, t1, n)
    return Spreads(symbol=symbol, points=[SpreadPoint(**p) for p in rows(df, SPREAD_FIELDS)][:n])


def _known(principal: Principal, ctx: ApiContext, symbol: str) -> None:
    if symbol not in ctx.reads.symbols(principal.data, timedelta(hours=ctx.settings.symbol_lookback_h)):
        raise not_found(f"no spreads for {symbol!r}")


@router.get("/quotes", response_model=Quotes, summary="The latest quote of each exchange for one symbol",
            responses={404: {"description": "no spreads for this symbol in the lookback"}})
def quotes(principal: PriceReader, ctx: Context, symbol: Annotated[str, Query(description="e.g. BTC/USDT")]) -> Quotes:
    """Stale quotes are listed too, with their time (the spread excludes them: docs/crypto.md)."""
    _known(principal, ctx, symbol)
    df = ctx.reads.latest_quotes(principal.data, symbol, timedelta(hours=ctx.settings.symbol_lookback_h))
    return Quotes(symbol=symbol, quotes=[Quote(**r) for r in rows(df, list(Quote.model_fields))])


@router.get("/ohlc", response_model=Ohlc, summary="1-minute OHLC per exchange (re-windowed for long ranges)",
            responses={404: {"description": "no spreads for this symbol in the lookback"}})
def ohlc(principal: PriceReader, ctx: Context, symbol: Annotated[str, Query(description="e.g. BTC/USDT")],
         exchange: Annotated[list[str] | None, Query(description="repeat for several; default all")] = None,
         start: Annotated[datetime | None, Query(alias="from", description="ISO 8601; default: API_DEFAULT_RANGE_H before to")] = None,
         stop: Annotated[datetime | None, Query(alias="to", description="ISO 8601; default: now")] = None,
         limit: Annotated[int | None, Query(description="most candles per exchange; longer ranges are re-aggregated")] = None) -> Ohlc:
    n = page_limit(ctx, limit)
    t0, t1 = time_window(ctx, start, stop, timedelta(hours=ctx.settings.default_range_h))
    _known(principal, ctx, symbol)
    df = ctx.reads.ohlc(principal.data, symbol, exchange, t0, t1, n)
    return Ohlc(symbol=symbol, candles=[Candle(**r) for r in rows(df, list(Candle.model_fields))])


class Forecast(BaseModel):
    """One model's newest forecast of a symbol's cross-exchange mid (docs/forecasts.md)."""

    symbol: str
    horizon: str = Field(description="1m, 5m, 15m ...")
    model: str = Field(description="the learner, or the baselines random_walk / drift")
    made_at: datetime
    target_time: datetime
    predicted_price: float | None = None
    lower_price: float | None = Field(None, description="interval; null when the model gives none")
    upper_price: float | None = None
    base_price: float | None = Field(None, description="the mid the forecast was made from")
    predicted_return: float | None = Field(None, description="log-return to target_time")


class Forecasts(BaseModel):
    forecasts: list[Forecast]


class Skill(BaseModel):
    """The newest walk-forward skill of one model at one horizon; null where a figure is not defined yet."""

    symbol: str
    horizon: str
    model: str
    time: datetime
    n: int | None = Field(None, description="forecasts scored")
    mae: float | None = None
    mae_random_walk: float | None = None
    mase: float | None = Field(None, description="below 1 beats the random walk")
    directional_n: int | None = None
    hits: int | None = None
    hit_rate: float | None = None
    binomial_p: float | None = None
    dm_stat: float | None = None
    dm_p_better: float | None = Field(None, description="Diebold-Mariano p that the model is better than the random walk")
    dm_p_worse: float | None = None
    coverage: float | None = None
    verdict: str | None = None


class SkillReport(BaseModel):
    summary: str = Field(description="the Forecasts page's sentence: skill claims against what chance would give")
    skill: list[Skill]


class ExchangeHealth(BaseModel):
    """An exchange's newest health window (docs/exchange-health.md)."""

    exchange: str
    time: datetime = Field(description="window end")
    health: str = Field(description="worst first: " + ", ".join(HEALTH_LEVELS))
    reason: str = Field("", description="why this health; empty when ok")
    state: str | None = Field(None, description="the collector's state")
    quotes: int | None = None
    quotes_per_s: float | None = None
    symbols_listed: int | None = None
    symbols_fresh: int | None = None
    fresh_share: float | None = None
    staleness_s: float | None = None
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    latency_max_ms: float | None = None
    polls: int | None = None
    errors: int | None = None
    rate_limits: int | None = None
    timeouts: int | None = None
    reconnects: int | None = None
    last_error: str | None = None
    excluded_outlier: int | None = None
    excluded_stale: int | None = None
    exclusions: str | None = None


class ExchangeHealthReport(BaseModel):
    counts: dict[str, int] = Field(description="exchanges per health level, every level")
    exchanges: list[ExchangeHealth] = Field(description="worst health first, then by exchange")


SymbolFilter = Annotated[list[str] | None, Query(description="repeat for several; default all")]


@router.get("/forecasts", response_model=Forecasts, summary="The newest forecast of each symbol, horizon and model")
def forecasts(principal: PriceReader, ctx: Context, symbol: SymbolFilter = None,
              horizon: Annotated[list[str] | None, Query(description="e.g. 5m; repeat for several; default all")] = None) -> Forecasts:
    """Forecasts made within API_SYMBOL_LOOKBACK_H, by symbol, horizon and model (learner, drift, random walk)."""
    df = forecast_reads.latest_forecasts(ctx.reads.history, ctx.reads.crypto_bucket, principal.data,
                                         timedelta(hours=ctx.settings.symbol_lookback_h), symbol)
    if horizon:
        df = df[df["horizon"].isin(horizon)]
    return Forecasts(forecasts=[Forecast(**r) for r in rows(df, list(Forecast.model_fields))])


@router.get("/forecast-skill", response_model=SkillReport, summary="Walk-forward skill of every model against the random walk")
def forecast_skill(principal: PriceReader, ctx: Context, symbol: SymbolFilter = None) -> SkillReport:
    """The newest skill record of each symbol, horizon and model of the last 7 days (the Forecasts page's table)."""
    df = forecast_reads.latest_skill(ctx.reads.history, ctx.reads.crypto_bucket, principal.data, SKILL_LOOKBACK)
    if symbol:
        df = df[df["symbol"].isin(symbol)]
    return SkillReport(summary=forecast_reads.skill_summary(df),
                       skill=[Skill(**r) for r in rows(forecast_reads.in_table_order(df), list(Skill.model_fields))])


@router.get("/exchange-health", response_model=ExchangeHealthReport, summary="Each exchange's newest health window, worst first")
def exchange_health(principal: PriceReader, ctx: Context,
                    exchange: Annotated[list[str] | None, Query(description="repeat for several; default all")] = None
                    ) -> ExchangeHealthReport:
    """Windows that ended in the last 15 minutes (the Exchange health page's); counts cover the listed exchanges."""
    df = exchange_health_reads.latest_health(ctx.reads.history, ctx.reads.crypto_bucket, principal.data, HEALTH_LOOKBACK)
    if exchange:
        df = df[df["exchange"].isin(exchange)]
    return ExchangeHealthReport(counts=exchange_health_reads.health_counts(df),
                                exchanges=[ExchangeHealth(**{**r, "reason": r["reason"] or ""})
                                           for r in rows(df, list(ExchangeHealth.model_fields))])
