"""The simulated market behind the async ccxt interface the collector uses.

``SimulatedExchange`` answers ``load_markets``, ``fetch_tickers``, ``fetch_ticker`` like a ccxt
async client, from one shared ``SimulatedMarket`` advanced to the caller's clock, so the
collector's real polling, fallback and dead-letter code runs on it. The market's stale exchange
never answers once it has gone quiet (its requests hang until the collector's timeout).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

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

    async def load_markets(self, reload: bool = False) -> dict[str, dict[str, Any]]:
        if self.markets is None or reload:
            self.markets = {s: {"symbol": s, "active": True} for s in self.market.listed[self.id]}
        return self.markets

    async def _answer(self) -> None:
        self.market.advance_to(self.clock())
        if self.market.is_stale(self.id):
            await asyncio.sleep(self.hang_s)

    async def fetch_tickers(self, symbols: Sequence[str] | None = None, params: dict[str, Any] | None = None) -> dict[str, Any]:
        await self._answer()
        return self.market.tickers(self.id, symbols)

    async def fetch_ticker(self, symbol: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        await self._answer()
        return self.market.tickers(self.id, [symbol])[symbol]

    async def close(self) -> None:
        return None


def simulated_clients(market: SimulatedMarket, clock: Callable[[], int]) -> list[SimulatedExchange]:
    """One fake client per exchange of the market."""
    return [SimulatedExchange(e, market, clock) for e in market.config.exchanges]
