"""Cross-exchange best bid / best ask (NBBO) of one symbol, its spread and the arbitrage margin.

Ties on price go to the exchange with the lower taker fee (better for the trader), then to the
alphabetically first exchange id, so the record is deterministic. ``spread`` is negative when the
best bid is above the best ask (a crossed cross-exchange market). The arbitrage margin buys at the
best ask paying that exchange's taker fee and sells at the best bid paying that exchange's fee:
``(bid * (1 - fee_bid) / (ask * (1 + fee_ask)) - 1) * 100`` percent.
"""

from __future__ import annotations

from collections.abc import Sequence

from contracts.quote import Quote
from contracts.spread import SpreadRecord
from rules.crypto.book import BookView
from rules.crypto.fees import FeeTable


def arbitrage_pct_after_fees(best_bid: float, fee_bid: float, best_ask: float, fee_ask: float) -> float:
    """Percent gained by buying one unit at ``best_ask`` and selling it at ``best_bid``, after taker fees."""
    return (best_bid * (1 - fee_bid) / (best_ask * (1 + fee_ask)) - 1) * 100


def best_bid_quote(quotes: Sequence[Quote], fees: FeeTable) -> Quote:
    """Highest bid; ties -> lower taker fee, then exchange id."""
    return min(quotes, key=lambda q: (-q.bid, fees.taker(q.exchange), q.exchange))


def best_ask_quote(quotes: Sequence[Quote], fees: FeeTable) -> Quote:
    """Lowest ask; ties -> lower taker fee, then exchange id."""
    return min(quotes, key=lambda q: (q.ask, fees.taker(q.exchange), q.exchange))


def compute_spread(view: BookView, fees: FeeTable, min_exchanges: int = 2) -> SpreadRecord | None:
    """The spread record of ``view``, or None when fewer than ``min_exchanges`` exchanges are counted.

    One exchange alone is no cross-exchange market: its own bid/ask would read as an NBBO and
    hide that the others are stale or excluded, so no record is emitted at all.
    """
    if len(view.counted) < max(2, min_exchanges):
        return None
    bid_q = best_bid_quote(view.counted, fees)
    ask_q = best_ask_quote(view.counted, fees)
    mid = (bid_q.bid + ask_q.ask) / 2
    spread = ask_q.ask - bid_q.bid
    return SpreadRecord(
        symbol=view.symbol,
        ts=view.ts,
        best_bid=bid_q.bid,
        best_bid_exchange=bid_q.exchange,
        best_ask=ask_q.ask,
        best_ask_exchange=ask_q.exchange,
        mid=mid,
        spread=spread,
        spread_pct=spread / mid * 100,
        arbitrage_pct_after_fees=arbitrage_pct_after_fees(
            bid_q.bid, fees.taker(bid_q.exchange), ask_q.ask, fees.taker(ask_q.exchange)
        ),
        exchanges_counted=len(view.counted),
        exchanges_excluded=[e.to_dict() for e in view.excluded],
    )
