"""REST polling of one exchange: ``fetch_tickers`` for all symbols, completed where bid/ask lack.

Many exchanges leave bid/ask out of ``fetch_tickers`` (coinbase exchange's bulk endpoint has no
book at all, kraken leaves empty sides out). For those symbols the poller asks ``fetch_ticker``;
when that lacks them too it remembers it (per symbol) and goes straight to the top of
``fetch_order_book`` next time. Every call goes through ``call``: the shared semaphore bounds
concurrency across exchanges and ``asyncio.wait_for`` bounds a hanging request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import ccxt.async_support as ccxt
import structlog

from contracts.ccxt_ticker import has_bid_ask, normalize, with_order_book_top
from contracts.quote import Quote

log = structlog.get_logger(__name__)


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class PollResult:
    """Valid quotes, dead letters, and symbols the exchange did not return."""

    quotes: list[Quote] = field(default_factory=list)
    dead: list[dict[str, Any]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


@dataclass
class ExchangePoller:
    """Polls one ccxt async client. ``source_prefix`` is its quotes' ``source`` (``ccxt`` / ``simulated``) and prefixes
    dead letters (``ccxt:<id>``)."""

    client: Any
    symbols: Sequence[str]
    semaphore: asyncio.Semaphore
    timeout_s: float = 10.0
    orderbook_limit: int | None = 5
    clock: Callable[[], int] = wall_clock_ms
    source_prefix: str = "ccxt"
    listed: list[str] | None = None
    ticker_lacks_book: set[str] = field(default_factory=set)

    @property
    def exchange_id(self) -> str:
        return str(self.client.id)

    async def call(self, method: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        """One ccxt call under the shared semaphore and a hard timeout."""
        async with self.semaphore:
            return await asyncio.wait_for(method(*args), self.timeout_s)

    async def load(self) -> list[str]:
        """Load markets once; keep the configured symbols this exchange lists."""
        markets = await self.call(self.client.load_markets)
        self.listed = [s for s in self.symbols if s in markets]
        unlisted = [s for s in self.symbols if s not in markets]
        log.info("markets loaded", exchange=self.exchange_id, listed=len(self.listed), unlisted=unlisted[:20])
        return self.listed

    async def fetch_all(self) -> dict[str, Any]:
        """Tickers of the listed symbols, in one call when the exchange has ``fetchTickers``."""
        assert self.listed is not None, "load() first"
        if not self.listed:
            return {}
        if self.client.has.get("fetchTickers"):
            return dict(await self.call(self.client.fetch_tickers, list(self.listed)))
        tickers: dict[str, Any] = {}
        for symbol in self.listed:
            tickers[symbol] = await self.call(self.client.fetch_ticker, symbol)
        return tickers

    async def complete(self, symbol: str, ticker: dict[str, Any]) -> dict[str, Any]:
        """Fill a missing bid/ask from ``fetch_ticker``, else from the order book top."""
        has = self.client.has
        if symbol not in self.ticker_lacks_book and has.get("fetchTicker"):
            single = dict(await self.call(self.client.fetch_ticker, symbol))
            if has_bid_ask(single):
                return single
            self.ticker_lacks_book.add(symbol)
            ticker = {**ticker, **{k: v for k, v in single.items() if v is not None}}
        if has.get("fetchOrderBook"):
            try:
                book = await self.call(self.client.fetch_order_book, symbol, self.orderbook_limit)
            except ccxt.BadRequest:  # some exchanges accept only their own depth values
                self.orderbook_limit = None
                book = await self.call(self.client.fetch_order_book, symbol, None)
            return with_order_book_top(ticker, book)
        return ticker

    async def poll_once(self) -> PollResult:
        """One round: bulk tickers, completion where needed, normalization. Raises ccxt errors of the bulk call."""
        if self.listed is None:
            await self.load()
        tickers = await self.fetch_all()
        recv = self.clock()
        result = PollResult()
        for symbol in self.listed or []:
            ticker = tickers.get(symbol)
            if ticker is None:
                result.missing.append(symbol)
                continue
            ticker = dict(ticker)
            if not has_bid_ask(ticker):
                try:
                    ticker = await self.complete(symbol, ticker)
                except (TimeoutError, ccxt.BaseError) as exc:  # one symbol's fallback must not sink the round
                    result.errors[symbol] = f"{type(exc).__name__}: {str(exc)[:200]}"
                    continue
                recv = self.clock()
            quote, letter = normalize(self.exchange_id, ticker, recv, self.source_prefix)
            if quote is not None:
                result.quotes.append(quote)
            elif letter is not None:
                result.dead.append(letter)
        return result
