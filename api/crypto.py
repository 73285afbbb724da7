"""Price reads: symbols with spreads, and the spread history of one symbol (scope ``crypto:read``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Security

from api.context import ApiContext, get_context
from api.fleet import page_limit, time_window
from api.frames import rows
from api.models import Candle, Ohlc, Quote, Quotes, SpreadPoint, Spreads, Symbols
from api.problems import not_found
from api.security import Principal, current_principal

router = APIRouter(prefix="/crypto", tags=["crypto"])
PriceReader = Annotated[Principal, Security(current_principal, scopes=["crypto:read"])]
Context = Annotated[ApiContext, Depends(get_context)]
SPREAD_FIELDS = list(SpreadPoint.model_fields)


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
