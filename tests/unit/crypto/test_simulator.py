"""The simulated market: deterministic, a quiet exchange, a different coin, arbitrage, broken tickers."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

from rules.crypto.arbitrage import ArbitrageRules
from rules.crypto.book import BookRules
from rules.crypto.config import DEFAULT_EXCHANGES
from rules.crypto.fees import build_fee_table
from rules.crypto.pipeline import SymbolRules
from simulators.market import MarketConfig, SimulatedMarket


def run_market(config: MarketConfig, steps: int) -> tuple[list, list]:
    market = SimulatedMarket(config)
    quotes, dead = [], []
    for _ in range(steps):
        market.step()
        batch, letters = market.quotes()
        quotes += batch
        dead += letters
    return quotes, dead


def test_same_seed_same_quotes_other_seed_other_quotes() -> None:
    config = MarketConfig(exchanges=DEFAULT_EXCHANGES[:5], symbols=("BTC/USDT", "ETH/USDT"), seed=3)
    assert run_market(config, 20) == run_market(config, 20)
    other = MarketConfig(exchanges=DEFAULT_EXCHANGES[:5], symbols=("BTC/USDT", "ETH/USDT"), seed=4)
    assert run_market(config, 20)[0] != run_market(other, 20)[0]


def test_default_market_shape_stale_exchange_and_dead_letters() -> None:
    market = SimulatedMarket(MarketConfig(seed=1, stale_from_step=10, glitch_prob=0.01))
    assert len(market.config.exchanges) == 45 and len(market.config.symbols) == 20
    per_step = []
    dead = []
    for _ in range(20):
        market.step()
        batch, letters = market.quotes()
        per_step.append({x.exchange for x in batch})
        dead += letters
    assert market.stale_exchange == "toobit"
    assert "toobit" in per_step[8] and all("toobit" not in s for s in per_step[9:])
    assert dead and all(d["reason"].startswith("crossed book") for d in dead)
    assert all(d["source_topic"].startswith("simulated:") for d in dead)


def test_rules_on_the_simulated_market_exclude_the_other_coin_and_the_quiet_exchange() -> None:
    config = MarketConfig(seed=1, stale_from_step=10, arbitrage_prob=0.01)
    market = SimulatedMarket(config)
    rules = SymbolRules(BookRules(stale_after_ms=5_000), build_fee_table(DEFAULT_EXCHANGES))
    arbitrage = ArbitrageRules(0.3, 0.05)
    books: dict = {}
    episodes: dict = {}
    excluded: Counter = Counter()
    alerts = []
    last_spread = {}
    for _ in range(120):
        market.step()
        for quote in market.quotes()[0]:
            books[quote.symbol], update = rules.update(books.get(quote.symbol), quote)
            if update is None or update.spread is None:
                continue
            last_spread[quote.symbol] = update.spread
            episodes[quote.symbol], new = arbitrage.update(episodes.get(quote.symbol), update.spread)
            alerts += new
    for record in last_spread.values():
        excluded.update((e["exchange"], e["reason"], record.symbol) for e in record.exchanges_excluded)
        assert record.exchanges_counted >= 30
        assert "toobit" not in (record.best_bid_exchange, record.best_ask_exchange)
    assert (market.alias_exchange, "outlier", market.alias_symbol) in excluded
    assert {(ex, reason) for ex, reason, _ in excluded} == {("toobit", "stale"), (market.alias_exchange, "outlier")}
    assert any(a.kind == "opened" for a in alerts)
    hot = last_spread["HOT/USDT"]
    assert hot.best_bid < 0.01  # the 37x "other coin" never shows as a bid or an ask


def test_cli_help_and_deterministic_output() -> None:
    help_text = subprocess.run([sys.executable, "-m", "simulators.market", "--help"], capture_output=True, text=True, check=True).stdout
    assert "--seed" in help_text and "--out" in help_text
    cmd = [sys.executable, "-m", "simulators.market", "--steps", "2", "--exchanges", "3", "--symbols", "2", "--start-ms", "1767225600000"]
    first = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    second = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    assert first == second
    assert first.count('"topic":"crypto.tickers"') == 3 * 2 * 2
