"""Arbitrage episodes, OHLC fold/merge, cross-exchange extremes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from contracts.spread import SpreadRecord
from rules.crypto.arbitrage import ArbitrageRules, alert_id, update_arbitrage
from rules.crypto.book import BookView
from rules.crypto.extremes import compute_extremes
from rules.crypto.ohlc import fold_ohlc, merge_ohlc, new_ohlc, ohlc_record, quote_event_time
from tests.unit.crypto.helpers import T0, q


def spread(pct: float, ts_s: int, buy: str = "a", sell: str = "b") -> SpreadRecord:
    return SpreadRecord("BTC/USDT", T0 + ts_s * 1000, 101.0, sell, 100.0, buy, 100.5, -1.0, -0.995, pct, 3, [])


def test_arbitrage_alerts_once_per_episode_with_deterministic_id() -> None:
    rules = ArbitrageRules(threshold_pct=0.3, hysteresis_pct=0.05)
    state, alerts = None, []
    for pct, t in [(0.1, 0), (0.5, 1), (0.7, 2), (0.28, 3), (0.2, 4), (0.1, 5)]:
        state, new = rules.update(state, spread(pct, t))
        alerts.extend(new)
    assert [(a.kind, a.ts - T0, a.peak_pct) for a in alerts] == [("opened", 1000, 0.5), ("closed", 4000, 0.7)]
    expected_id = alert_id("BTC/USDT", "a", "b", T0 + 1000)
    assert alerts[0].alert_id == alerts[1].alert_id == expected_id
    assert len(expected_id) == 16
    assert (alerts[0].buy_exchange, alerts[0].buy_price, alerts[0].sell_exchange, alerts[0].sell_price) == ("a", 100.0, "b", 101.0)
    assert state is None


def test_arbitrage_at_threshold_does_not_alert_and_pair_change_stays_one_episode() -> None:
    state, alerts = update_arbitrage(None, spread(0.3, 0), 0.3)
    assert state is None and alerts == []
    state, alerts = update_arbitrage(None, spread(0.4, 1, "a", "b"), 0.3)
    state, more = update_arbitrage(state, spread(0.6, 2, "c", "b"), 0.3)
    assert [a.kind for a in alerts + more] == ["opened"]
    assert state is not None and state.peak_pct == 0.6 and state.buy_exchange == "a"


def test_ohlc_follows_event_time_not_arrival_order() -> None:
    quotes = [q("a", 100, 102, t_s=10), q("a", 98, 100, t_s=5), q("a", 104, 106, t_s=50), q("a", 102, 104, t_s=30)]
    acc = new_ohlc()
    for quote in quotes:
        acc = fold_ohlc(acc, quote)
    assert acc is not None
    assert (acc.open, acc.high, acc.low, acc.close, acc.count) == (99.0, 105.0, 99.0, 105.0, 4)
    assert (acc.open_ts, acc.close_ts) == (T0 + 5000, T0 + 50_000)


def test_ohlc_merge_equals_single_fold() -> None:
    quotes = [q("a", 100, 102, t_s=10), q("a", 98, 100, t_s=5), q("a", 104, 106, t_s=50), q("a", 102, 104, t_s=30)]
    left = right = None
    for i, quote in enumerate(quotes):
        if i % 2:
            left = fold_ohlc(left, quote)
        else:
            right = fold_ohlc(right, quote)
    whole = None
    for quote in quotes:
        whole = fold_ohlc(whole, quote)
    assert merge_ohlc(left, right) == whole == merge_ohlc(right, left)
    assert merge_ohlc(None, whole) == whole


def test_ohlc_record_and_event_time() -> None:
    quote = q("kraken", 100, 102, t_s=1.5)
    assert quote_event_time(quote) == datetime(2026, 1, 1, 0, 0, 1, 500000, tzinfo=UTC)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    end = datetime(2026, 1, 1, 0, 1, tzinfo=UTC)
    record = ohlc_record("kraken:BTC/USDT", start, end, fold_ohlc(None, quote))
    assert record == {
        "exchange": "kraken", "symbol": "BTC/USDT", "window_start_ms": T0, "window_end_ms": T0 + 60_000,
        "open": 101.0, "high": 101.0, "low": 101.0, "close": 101.0, "count": 1, "open_ts": T0 + 1500, "close_ts": T0 + 1500,
    }  # fmt: skip


def test_extremes_of_counted_quotes_only() -> None:
    view = BookView("BTC/USDT", T0, (q("a", 99, 101), q("b", 101, 103), q("c", 99, 101)), ())
    extremes = compute_extremes(view)
    assert extremes is not None
    assert (extremes.low, extremes.low_exchange, extremes.high, extremes.high_exchange) == (100.0, "a", 102.0, "b")
    assert compute_extremes(BookView("BTC/USDT", T0, (), ())) is None
    assert extremes.to_dict()["ts"] == T0


def test_bytewax_state_objects_pickle() -> None:
    import pickle

    from rules.crypto.book import BookRules, update_book

    state, _ = update_book(None, q("a", 100, 101), BookRules())
    episode, _ = update_arbitrage(None, spread(1.0, 0), 0.3)
    assert pickle.loads(pickle.dumps(state)) == state
    assert pickle.loads(pickle.dumps(episode)) == episode
    assert pickle.loads(pickle.dumps(fold_ohlc(None, q("a", 100, 101)))) is not None
    with pytest.raises(TypeError):
        hash(state)  # mutable state object, by design
