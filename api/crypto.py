"""Price reads: symbols with spreads, and the spread history of one symbol (scope ``crypto:read``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Security

from api.context import ApiContext, get_context
from api.fleet import page_limit, time_window
from api.frames import rows
from api.models import SpreadPoint, Spreads, Symbols
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
    if symbol not in ctx.reads.symbols(principal.data, timedelta(hours=ctx.settings.symbol_lookback_h)):
        raise not_found(f"no spreads for {symbol!r}")
    df = ctx.reads.spreads(principal.data, symbol, t0, t1, n)
    return Spreads(symbol=symbol, points=[SpreadPoint(**p) for p in rows(df, SPREAD_FIELDS)][:n])
