"""The rules wired into a Bytewax 0.21 flow exactly as docs/crypto.md shows (testing source, no services)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import bytewax.operators as op
import bytewax.operators.windowing as win
from bytewax.dataflow import Dataflow
from bytewax.operators.windowing import EventClock, TumblingWindower
from bytewax.testing import TestingSink, TestingSource, run_main

from rules.crypto.arbitrage import ArbitrageRules
from rules.crypto.book import BookRules
from rules.crypto.fees import FeeTable
from rules.crypto.ohlc import fold_ohlc, merge_ohlc, new_ohlc, quote_event_time
from rules.crypto.pipeline import SymbolRules
from simulators.market import MarketConfig, SimulatedMarket

EXCHANGES = ("binance", "kraken", "okx", "bybit")


def run_flow() -> tuple[list, list, list]:
    market = SimulatedMarket(MarketConfig(exchanges=EXCHANGES, symbols=("BTC/USDT",), start_ms=1_767_225_600_000, arbitrage_prob=0.05))
    quotes = []
    for _ in range(130):
        market.step()
        quotes += market.quotes()[0]
    rules = SymbolRules(BookRules(), FeeTable({}, 0.001))
    arbitrage = ArbitrageRules(0.3, 0.05)
    flow = Dataflow("crypto_rules")
    stream = op.input("in", flow, TestingSource(quotes))
    updates = op.stateful_map("book", op.key_on("by_symbol", stream, lambda q: q.symbol), rules.update)
    spreads = op.filter_map_value("spreads", updates, lambda u: u.spread if u else None)
    alerts = op.flat_map_value("alerts", op.stateful_map("arb", spreads, arbitrage.update), lambda a: a)
    clock = EventClock(quote_event_time, wait_for_system_duration=timedelta(seconds=10))
    windower = TumblingWindower(timedelta(seconds=60), align_to=datetime(2026, 1, 1, tzinfo=UTC))
    bars = win.fold_window("ohlc", op.key_on("by_key", stream, lambda q: q.key), clock, windower, new_ohlc, fold_ohlc, merge_ohlc)
    out_spreads: list = []
    out_alerts: list = []
    out_bars: list = []
    op.output("spreads_out", spreads, TestingSink(out_spreads))
    op.output("alerts_out", alerts, TestingSink(out_alerts))
    op.output("bars_out", bars.down, TestingSink(out_bars))
    run_main(flow)
    assert len(quotes) == 4 * 130 - 71  # bybit (the last exchange) is quiet from step 60 on
    return out_spreads, out_alerts, out_bars


def test_flow_emits_spreads_alerts_and_bars_deterministically() -> None:
    spreads, alerts, bars = run_flow()
    assert len(spreads) == 4 * 130 - 71 - 1  # every quote but the very first gives a spread
    assert alerts and {a.kind for _, a in alerts} <= {"opened", "closed"}
    # 4 exchanges x 2 full minutes (bybit only its first) + a partial third minute
    assert sorted((key, window_id) for key, (window_id, _) in bars) == sorted(
        [(f"{e}:BTC/USDT", w) for e in EXCHANGES for w in (0, 1, 2) if not (e == "bybit" and w > 0)]
    )
    assert sum(bar.count for _, (_, bar) in bars) == 4 * 130 - 71
    assert run_flow() == (spreads, alerts, bars)
