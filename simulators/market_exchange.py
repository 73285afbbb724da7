"""The simulated market behind the async ccxt interface the collector uses.

``SimulatedExchange`` answers ``load_markets``, ``fetch_tickers``, ``fetch_ticker`` like a ccxt
async client, from one shared ``SimulatedMarket`` advanced to the caller's clock, so the
collector's real polling, fallback and dead-letter code runs on it. The market's stale exchange
never answers once it has gone quiet (its requests hang until the collector's timeout). For the
exchange health page (docs/exchange-health.md) one exchange can be made slow (each answer
``delay_s`` late: its quotes' receive time trails their exchange time) and one failing (every
ticker request raises, alternately ccxt's ``RateLimitExceeded`` and ``ExchangeNotAvailable``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import ccxt.async_support as ccxt

from simulators.market import SimulatedMarket


@dataclass
class SimulatedExchange:
    """A fake async ccxt client of exchange ``id`` (no websocket: it is polled)."""

    id: str
    market: SimulatedMarket
    clock: Callable[[], int]
    hang_s: float = 3600.0
    has: dict[str, Any] = field(
        default_factory=lambda: {"fetchTickers": True, "fetchTicker": True, "fetchOrderBook": False}
    )
    markets: dict[str, dict[str, Any]] | None = None
    delay_s: float = 0.0
    failing: bool = False
    failures: int = 0

    async def load_markets(self, reload: bool = False) -> dict[str, dict[str, Any]]:
        if self.markets is None or reload:
            self.markets = {s: {"symbol": s, "active": True} for s in self.market.listed[self.id]}
        return self.markets

    async def _answer(self) -> None:
        self.market.advance_to(self.clock())
        if self.failing:
            self.failures += 1
            if self.failures % 2:
                raise ccxt.RateLimitExceeded(f"{self.id} 429 Too Many Requests (simulated)")
            raise ccxt.ExchangeNotAvailable(f"{self.id} 503 Service Unavailable (simulated)")
        if self.market.is_stale(self.id):
            await asyncio.sleep(self.hang_s)

    async def fetch_tickers(self, symbols: Sequence[str] | None = None, params: dict[str, Any] | None = None) -> dict[str, Any]:
        await self._answer()
        tickers = self.market.tickers(self.id, symbols)
        await asyncio.sleep(self.delay_s)  # the answer left the exchange now and arrives late
        return tickers

    async def fetch_ticker(self, symbol: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        await self._answer()
        ticker = self.market.tickers(self.id, [symbol])[symbol]
        await asyncio.sleep(self.delay_s)
        return ticker

    async def close(self) -> None:
        return None


def simulated_clients(market: SimulatedMarket, clock: Callable[[], int], slow: dict[str, float] | None = None,
                      failing: Sequence[str] = ()) -> list[SimulatedExchange]:
    """One fake client per exchange of the market; ``slow`` maps exchanges to their answer delay in
    seconds, ``failing`` names exchanges whose ticker requests always fail."""
    unknown = sorted((set(slow or {}) | set(failing)) - set(market.config.exchanges))
    if unknown:
        raise ValueError(f"slow / failing exchanges not in the simulated market: {', '.join(unknown)}")
    return [SimulatedExchange(e, market, clock, delay_s=(slow or {}).get(e, 0.0), failing=e in failing)
            for e in market.config.exchanges]
