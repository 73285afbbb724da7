"""A simulated crypto market: many exchanges x symbols, deterministic for a seed.

Each symbol follows a geometric random walk from a realistic base price; each exchange quotes it
with a fixed small offset, per-step jitter and its own spread. On top of that: short price
dislocations on one exchange (arbitrage opportunities), one exchange that goes quiet (stale), one
exchange where a symbol is a different coin (price far off), and rare broken (crossed) tickers.
The state at step k depends only on the seed and k, never on who asked or when. Tickers are
ccxt unified dicts, so the collector's normalization and dead-letter path run on them unchanged.
Run ``python -m simulators.market --help`` for the CLI (``simulators/market/__main__.py``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from contracts.ccxt_ticker import normalize
from contracts.quote import Quote
from rules.crypto.config import DEFAULT_EXCHANGES, DEFAULT_SYMBOLS

BASE_PRICES: dict[str, float] = {
    "BTC": 65000.0, "ETH": 3200.0, "SOL": 150.0, "XRP": 0.55, "BNB": 580.0, "ADA": 0.45,
    "DOGE": 0.15, "TRX": 0.12, "AVAX": 35.0, "LINK": 15.0, "DOT": 7.0, "LTC": 85.0, "BCH": 450.0,
    "XLM": 0.11, "ATOM": 8.5, "ETC": 27.0, "UNI": 9.0, "FIL": 5.5, "NEAR": 6.0, "HOT": 0.0021,
}  # fmt: skip


@dataclass(frozen=True)
class MarketConfig:
    """Shape of the simulated market; times in ms, ``*_bps`` in basis points (0.01 %)."""

    exchanges: Sequence[str] = DEFAULT_EXCHANGES
    symbols: Sequence[str] = DEFAULT_SYMBOLS
    seed: int = 7
    start_ms: int = 1_767_225_600_000  # 2026-01-01T00:00:00Z
    step_ms: int = 1000
    volatility_bps: float = 5.0  # per step, of the common walk
    offset_bps: float = 4.0  # stdev of each exchange's fixed offset
    jitter_bps: float = 1.5  # stdev of each quote's noise
    arbitrage_prob: float = 0.002  # per symbol and step: one exchange dislocates
    arbitrage_bps: tuple[float, float] = (60.0, 150.0)
    arbitrage_steps: tuple[int, int] = (5, 30)
    stale_exchange: str | None = None  # None: the last exchange
    stale_from_step: int = 60
    alias_exchange: str | None = None  # None: the 8th exchange (or the one before the last)
    alias_symbol: str | None = None  # None: HOT/USDT if simulated, else the last symbol
    alias_factor: float = 37.0  # the "other coin" trades at this multiple
    glitch_prob: float = 0.0005  # per quote: a crossed ticker (goes to the dead letters)
    listed_ratio: float = 0.95  # share of symbols each exchange lists (the first two: all)


@dataclass
class SimulatedMarket:
    """Advance with ``step()``; read tickers with ``tickers()``."""

    config: MarketConfig = field(default_factory=MarketConfig)
    step_index: int = 0

    def __post_init__(self) -> None:
        cfg = self.config
        setup = random.Random(f"{cfg.seed}:setup")
        self.prices = {s: BASE_PRICES.get(s.split("/")[0], 10 ** setup.uniform(-2, 3)) for s in cfg.symbols}
        self.offsets = {(e, s): setup.gauss(0, cfg.offset_bps) for e in cfg.exchanges for s in cfg.symbols}
        self.half_spread_bps = {e: setup.uniform(0.5, 6.0) for e in cfg.exchanges}
        self.volume = {(e, s): setup.uniform(1e3, 1e6) / self.prices[s] ** 0.5 for e in cfg.exchanges for s in cfg.symbols}
        self.listed = {
            e: [s for i, s in enumerate(cfg.symbols) if i < 2 or e == self.alias_exchange or setup.random() < cfg.listed_ratio]
            for e in cfg.exchanges
        }
        self.dislocations: dict[tuple[str, str], tuple[float, int]] = {}
        self._rng = random.Random(f"{cfg.seed}:walk")
        self._tickers: dict[str, dict[str, dict[str, Any]]] = {}
        self._render()

    @property
    def stale_exchange(self) -> str:
        return self.config.stale_exchange or self.config.exchanges[-1]

    @property
    def alias_exchange(self) -> str:
        exchanges = self.config.exchanges
        return self.config.alias_exchange or exchanges[min(7, max(0, len(exchanges) - 2))]

    @property
    def alias_symbol(self) -> str:
        symbols = self.config.symbols
        return self.config.alias_symbol or ("HOT/USDT" if "HOT/USDT" in symbols else symbols[-1])

    @property
    def now_ms(self) -> int:
        return self.config.start_ms + self.step_index * self.config.step_ms

    def is_stale(self, exchange: str) -> bool:
        """True once the stale exchange has gone quiet."""
        return exchange == self.stale_exchange and self.step_index >= self.config.stale_from_step

    def step(self) -> None:
        """Move every price one step forward."""
        cfg, rng = self.config, self._rng
        self.step_index += 1
        for symbol in cfg.symbols:
            self.prices[symbol] *= math.exp(rng.gauss(0, cfg.volatility_bps / 1e4))
            if rng.random() < cfg.arbitrage_prob:
                exchange = rng.choice(list(cfg.exchanges))
                shift = rng.uniform(*cfg.arbitrage_bps) * rng.choice((-1, 1))
                self.dislocations[(exchange, symbol)] = (shift, self.step_index + rng.randint(*cfg.arbitrage_steps))
        self.dislocations = {k: v for k, v in self.dislocations.items() if v[1] > self.step_index}
        self._render()

    def advance_to(self, ts_ms: int) -> None:
        """Step until the market clock reaches ``ts_ms``."""
        while self.now_ms + self.config.step_ms <= ts_ms:
            self.step()

    def _render(self) -> None:
        cfg, rng = self.config, self._rng
        ts = self.now_ms
        for exchange in cfg.exchanges:
            if self.is_stale(exchange) and exchange in self._tickers:
                continue  # frozen: keeps its last tickers
            book: dict[str, dict[str, Any]] = {}
            for symbol in self.listed[exchange]:
                bps = self.offsets[(exchange, symbol)] + rng.gauss(0, cfg.jitter_bps)
                bps += self.dislocations.get((exchange, symbol), (0.0, 0))[0]
                mid = self.prices[symbol] * (1 + bps / 1e4)
                if (exchange, symbol) == (self.alias_exchange, self.alias_symbol):
                    mid *= cfg.alias_factor
                half = mid * self.half_spread_bps[exchange] / 1e4
                bid, ask = _round_price(mid - half), _round_price(mid + half)
                if rng.random() < cfg.glitch_prob:
                    bid, ask = ask, bid * 0.999  # a crossed book, as broken feeds do send
                book[symbol] = {
                    "symbol": symbol,
                    "timestamp": ts - rng.randint(0, 300),
                    "bid": bid,
                    "ask": ask,
                    "last": _round_price(rng.uniform(bid, ask) if bid < ask else bid),
                    "bidVolume": round(rng.uniform(0.1, 50) * self.volume[(exchange, symbol)] / 1e4, 6),
                    "askVolume": round(rng.uniform(0.1, 50) * self.volume[(exchange, symbol)] / 1e4, 6),
                    "baseVolume": round(self.volume[(exchange, symbol)] * rng.uniform(0.9, 1.1), 4),
                }
            self._tickers[exchange] = book

    def tickers(self, exchange: str, symbols: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
        """ccxt unified tickers of one exchange now (copies), for ``symbols`` it lists."""
        book = self._tickers.get(exchange, {})
        wanted = book.keys() if symbols is None else [s for s in symbols if s in book]
        return {s: dict(book[s]) for s in wanted}

    def quotes(self) -> tuple[list[Quote], list[dict[str, Any]]]:
        """Valid quotes and dead letters of this step (the quiet exchange sends nothing), received 50 ms after the step."""
        quotes: list[Quote] = []
        dead: list[dict[str, Any]] = []
        recv = self.now_ms + 50
        for exchange in self.config.exchanges:
            if self.is_stale(exchange):
                continue
            for ticker in self.tickers(exchange).values():
                quote, letter = normalize(exchange, ticker, recv, "simulated")
                if quote is not None:
                    quotes.append(quote)
                elif letter is not None:
                    dead.append(letter)
        return quotes, dead


def _round_price(price: float) -> float:
    """Round to 6 significant digits beyond the integer part, like exchange tick sizes do."""
    return float(f"{price:.8g}")

