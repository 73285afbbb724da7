"""InfluxDB points of the crypto flow (bucket ``crypto``), exactly as docs/measurements.md lists them.

Prices are floats, counts and ``recv_ts_ms`` integers, so a field never changes type between
points (InfluxDB refuses that). InfluxDB has no null: absent optional values are left out.
The point time is the event time; two points of one series at the same millisecond are one
point (the later write wins), which is what a replay needs to be idempotent.
"""

from __future__ import annotations

from typing import Any

from influxdb_client import Point

from contracts.extremes import Extremes
from contracts.quote import Quote
from contracts.spread import SpreadRecord
from sinks.influx_points.fields import at_ms, set_fields

QUOTES = "quotes"
SPREADS = "spreads"
EXTREMES = "extremes"
OHLC_1M = "ohlc_1m"
# Integer fields of every crypto measurement (everything else numeric is a float).
INT_FIELDS = frozenset({"recv_ts_ms", "exchanges_counted", "exchanges_excluded", "count"})


def _fields(p: Point, **fields: Any) -> Point:
    return set_fields(p, INT_FIELDS, **fields)


def quote_time_ms(q: Quote) -> int:
    """Point time of a quote: the exchange's timestamp, else when it was received."""
    return q.exchange_ts_ms if q.exchange_ts_ms is not None else q.recv_ts_ms


def quote_point(q: Quote) -> Point:
    """``quotes``: one normalized quote of one exchange and symbol."""
    p = Point(QUOTES).tag("exchange", q.exchange).tag("symbol", q.symbol).tag("source", q.source)
    return at_ms(_fields(p, bid=q.bid, ask=q.ask, last=q.last, bid_size=q.bid_size, ask_size=q.ask_size,
                         base_volume=q.base_volume, recv_ts_ms=q.recv_ts_ms), quote_time_ms(q))


def spread_point(s: SpreadRecord) -> Point:
    """``spreads``: the cross-exchange NBBO of a symbol at the book's clock ``ts`` (= ``recv_ts_ms``)."""
    p = Point(SPREADS).tag("symbol", s.symbol)
    return at_ms(_fields(p, best_bid=s.best_bid, best_bid_exchange=s.best_bid_exchange, best_ask=s.best_ask,
                         best_ask_exchange=s.best_ask_exchange, mid=s.mid, spread=s.spread, spread_pct=s.spread_pct,
                         arbitrage_pct_after_fees=s.arbitrage_pct_after_fees, exchanges_counted=s.exchanges_counted,
                         exchanges_excluded=len(s.exchanges_excluded), recv_ts_ms=s.ts), s.ts)


def extremes_point(e: Extremes) -> Point:
    """``extremes``: lowest and highest mid across the counted exchanges."""
    p = Point(EXTREMES).tag("symbol", e.symbol)
    return at_ms(_fields(p, low=e.low, low_exchange=e.low_exchange, high=e.high,
                         high_exchange=e.high_exchange), e.ts)


def ohlc_point(record: dict[str, Any]) -> Point:
    """``ohlc_1m``: one closed window of ``rules.crypto.ohlc.ohlc_record``; time = window end."""
    p = Point(OHLC_1M).tag("exchange", record["exchange"]).tag("symbol", record["symbol"])
    return at_ms(_fields(p, open=record["open"], high=record["high"], low=record["low"], close=record["close"],
                         count=record["count"]), record["window_end_ms"])
