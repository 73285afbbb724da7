"""Spread records of the simulated market (a geometric random walk), for the forecaster's tests."""

from __future__ import annotations

from contracts.spread import SpreadRecord
from rules.crypto.book import BookRules
from rules.crypto.fees import FeeTable
from rules.crypto.pipeline import SymbolRules
from simulators.market import MarketConfig, SimulatedMarket

EXCHANGES = ("binance", "kraken", "okx")


def simulated_spreads(minutes: int, symbols: tuple[str, ...] = ("BTC/USDT", "ETH/USDT"), step_ms: int = 10_000,
                      seed: int = 7) -> list[SpreadRecord]:
    """Every spread record the prices flow's rules make of ``minutes`` of the simulated market (one step per ``step_ms``)."""
    market = SimulatedMarket(MarketConfig(exchanges=EXCHANGES, symbols=symbols, seed=seed, step_ms=step_ms,
                                          stale_exchange="none", glitch_prob=0.0, listed_ratio=1.0))
    rules = SymbolRules(BookRules(), FeeTable({}, 0.001))
    books: dict[str, object] = {}
    out: list[SpreadRecord] = []
    for _ in range(minutes * 60_000 // step_ms):
        market.step()
        for q in market.quotes()[0]:
            books[q.symbol], update = rules.update(books.get(q.symbol), q)  # type: ignore[arg-type]
            if update is not None and update.spread is not None:
                out.append(update.spread)
    return out
