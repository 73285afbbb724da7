"""Hand-computed spread cases: fees, ties, crossed markets, stale quotes, outliers, one exchange."""

from __future__ import annotations

import pytest

from rules.crypto.book import BookRules, SymbolBook, update_book
from rules.crypto.fees import FeeTable
from rules.crypto.pipeline import SymbolRules
from rules.crypto.spread import arbitrage_pct_after_fees, compute_spread
from tests.unit.crypto.helpers import T0, q

RULES = BookRules(stale_after_ms=30_000, evict_after_ms=600_000, outlier_pct=10.0)
FEES = FeeTable({"a": 0.001, "b": 0.002, "c": 0.0026}, default=0.002)


def feed(*quotes, rules: BookRules = RULES):  # type: ignore[no-untyped-def]
    state: SymbolBook | None = None
    view = None
    for quote in quotes:
        state, view = update_book(state, quote, rules)
    return state, view


def test_best_bid_and_ask_with_fees() -> None:
    # best bid 100.1 on b (fee 0.2 %), best ask 100.1 on c (fee 0.26 %)
    _, view = feed(q("a", 100.0, 100.2), q("b", 100.1, 100.3), q("c", 99.9, 100.1))
    record = compute_spread(view, FEES)
    assert record is not None
    assert (record.best_bid, record.best_bid_exchange, record.best_ask, record.best_ask_exchange) == (100.1, "b", 100.1, "c")
    assert record.mid == pytest.approx(100.1)
    assert record.spread == pytest.approx(0.0, abs=1e-12)
    assert record.spread_pct == pytest.approx(0.0, abs=1e-12)
    # sell 100.1 * (1 - 0.002) = 99.8998; buy 100.1 * (1 + 0.0026) = 100.36026 -> 0.998 / 1.0026 - 1
    assert record.arbitrage_pct_after_fees == pytest.approx(-0.4588071015, abs=1e-9)
    assert record.exchanges_counted == 3 and record.exchanges_excluded == []
    assert record.ts == T0 and record.symbol == "BTC/USDT"


def test_crossed_exchanges_give_negative_spread_and_positive_arbitrage() -> None:
    fees = FeeTable({"a": 0.001, "b": 0.001})
    _, view = feed(q("a", 101.0, 101.1), q("b", 100.0, 100.1))
    record = compute_spread(view, fees)
    assert record is not None
    assert (record.best_bid_exchange, record.best_ask_exchange) == ("a", "b")
    assert record.spread == pytest.approx(-0.9)
    assert record.mid == pytest.approx(100.55)
    assert record.spread_pct == pytest.approx(-0.8950770761, abs=1e-9)
    # 101 * 0.999 = 100.899; 100.1 * 1.001 = 100.2001; 100.899 / 100.2001 - 1 = 0.6975 %
    assert record.arbitrage_pct_after_fees == pytest.approx(0.6975042939, abs=1e-9)


def test_fees_eat_a_small_crossing() -> None:
    assert arbitrage_pct_after_fees(100.1, 0.001, 100.0, 0.001) == pytest.approx((100.1 * 0.999 / 100.1 - 1) * 100)
    assert arbitrage_pct_after_fees(100.1, 0.001, 100.0, 0.001) < 0  # 0.1 % crossing, 0.2 % fees
    assert arbitrage_pct_after_fees(100.0, 0.0, 100.0, 0.0) == 0.0


def test_ties_go_to_lower_fee_then_exchange_id() -> None:
    fees = FeeTable({"a": 0.002, "b": 0.001, "c": 0.001, "d": 0.001})
    _, view = feed(q("a", 100.0, 100.5), q("b", 100.0, 100.6), q("c", 99.0, 100.5), q("d", 99.5, 100.5))
    record = compute_spread(view, fees)
    assert record is not None
    assert record.best_bid_exchange == "b"  # a and b bid 100.0: b's fee is lower
    assert record.best_ask_exchange == "c"  # a, c, d ask 100.5: c and d tie on fee, c first


def test_stale_quote_drops_out_relative_to_newest_event_time() -> None:
    # a at 0 s, b at 10 s, c at 31 s: a is 31 s old (> 30 s), b 21 s
    _, view = feed(q("a", 105.0, 105.1, t_s=0), q("b", 100.0, 100.2, t_s=10), q("c", 100.1, 100.3, t_s=31))
    record = compute_spread(view, FEES)
    assert record is not None
    assert record.best_bid == 100.1 and record.best_bid_exchange == "c"  # a's 105 bid would have won
    assert record.exchanges_counted == 2
    assert record.exchanges_excluded == [{"exchange": "a", "reason": "stale", "detail": "last quote 31 s older than the newest"}]
    assert record.ts == T0 + 31_000


def test_quote_exactly_at_stale_age_still_counts() -> None:
    _, view = feed(q("a", 100.0, 100.2, t_s=0), q("b", 100.0, 100.2, t_s=30))
    assert [x.exchange for x in view.counted] == ["a", "b"]


def test_stale_quote_comes_back_when_its_exchange_updates() -> None:
    state, view = feed(q("a", 100.0, 100.2, t_s=0), q("b", 100.0, 100.2, t_s=40), q("c", 100.0, 100.2, t_s=41))
    assert [e.exchange for e in view.excluded] == ["a"]
    state, view = update_book(state, q("a", 100.0, 100.2, t_s=42), RULES)
    assert [x.exchange for x in view.counted] == ["a", "b", "c"] and view.excluded == ()


def test_evicted_quotes_are_forgotten() -> None:
    rules = BookRules(stale_after_ms=30_000, evict_after_ms=60_000, outlier_pct=10.0)
    state, view = feed(q("a", 100.0, 100.2, t_s=0), q("b", 100.0, 100.2, t_s=61), rules=rules)
    assert state is not None and sorted(state.quotes) == ["b"]
    assert view.excluded == ()


def test_outlier_far_from_median_is_excluded_and_reported() -> None:
    # mids 100, 101, 99, 150 -> median (100 + 101) / 2 = 100.5; 150 is 49.25 % away
    _, view = feed(q("a", 99.9, 100.1), q("b", 100.9, 101.1), q("c", 98.9, 99.1), q("x", 149.9, 150.1))
    record = compute_spread(view, FEES)
    assert record is not None
    assert record.exchanges_counted == 3
    assert record.best_bid == 100.9 and record.best_ask == 99.1  # x's 149.9 bid is never shown
    assert record.exchanges_excluded == [
        {"exchange": "x", "reason": "outlier", "detail": "mid 150 is 49.25% from the median 100.5 of 4 exchanges"}
    ]


def test_two_exchanges_that_disagree_are_both_excluded_and_no_spread() -> None:
    # mids 100 and 130: median 115, each 13.04 % away: nothing says which coin is the right one
    _, view = feed(q("a", 99.9, 100.1), q("b", 129.9, 130.1))
    assert view.counted == ()
    assert [(e.exchange, e.reason) for e in view.excluded] == [("a", "outlier"), ("b", "outlier")]
    assert compute_spread(view, FEES) is None


def test_one_exchange_gives_no_spread_record() -> None:
    _, view = feed(q("a", 100.0, 100.2))
    assert len(view.counted) == 1
    assert compute_spread(view, FEES) is None


def test_one_counted_exchange_after_exclusions_gives_no_spread_record() -> None:
    _, view = feed(q("a", 100.0, 100.2, t_s=0), q("b", 100.0, 100.2, t_s=40))
    assert compute_spread(view, FEES) is None


def test_min_exchanges_is_configurable() -> None:
    _, view = feed(q("a", 100.0, 100.2), q("b", 100.0, 100.2))
    assert compute_spread(view, FEES, min_exchanges=3) is None
    assert compute_spread(view, FEES, min_exchanges=2) is not None


def test_older_quote_of_the_same_exchange_is_ignored() -> None:
    state, _ = feed(q("a", 100.0, 100.2, t_s=5))
    state, view = update_book(state, q("a", 90.0, 90.2, t_s=4), RULES)
    assert view is None
    assert state.quotes["a"].bid == 100.0


def test_pipeline_emits_spread_and_extremes_and_replays_identically() -> None:
    rules = SymbolRules(RULES, FEES)
    quotes = [q("a", 100.0, 100.2, t_s=0), q("b", 100.4, 100.6, t_s=1), q("c", 99.0, 99.2, t_s=2)]

    def replay() -> list:
        state, out = None, []
        for quote in quotes:
            state, update = rules.update(state, quote)
            out.append(update)
        return out

    first, second = replay(), replay()
    assert first == second
    assert first[0].spread is None and first[0].extremes is not None
    last = first[-1]
    assert (last.spread.best_bid_exchange, last.spread.best_ask_exchange) == ("b", "c")
    assert (last.extremes.low, last.extremes.low_exchange, last.extremes.high, last.extremes.high_exchange) == (
        pytest.approx(99.1), "c", pytest.approx(100.5), "b"
    )
