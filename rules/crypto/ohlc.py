"""1-minute OHLC of the mid price per exchange and symbol, as pure functions for a Bytewax window.

Use with ``bytewax.operators.windowing.fold_window`` (keyed by ``Quote.key``) and an
``EventClock(quote_event_time, wait_for_system_duration=...)`` plus a ``TumblingWindower``. The
price is the mid (a ticker's ``last`` may be an old trade). Open and close follow event time, not
arrival order, so late-but-in-window quotes and merged partial windows give the same bar.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from contracts.quote import Quote


@dataclass(frozen=True)
class OHLC:
    """Accumulator and result of one window; ``*_ts`` are the event times of open and close."""

    open: float
    high: float
    low: float
    close: float
    count: int
    open_ts: int
    close_ts: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def quote_event_time(quote: Quote) -> datetime:
    """Event time of a quote for the Bytewax ``EventClock`` (receive time, like the spread book)."""
    return datetime.fromtimestamp(quote.recv_ts_ms / 1000, tz=UTC)


def new_ohlc() -> OHLC | None:
    """``builder`` of ``fold_window``: an empty window."""
    return None


def fold_ohlc(acc: OHLC | None, quote: Quote) -> OHLC:
    """``folder`` of ``fold_window``: add one quote's mid."""
    price, ts = quote.mid, quote.recv_ts_ms
    if acc is None:
        return OHLC(price, price, price, price, 1, ts, ts)
    return OHLC(
        open=price if ts < acc.open_ts else acc.open,
        high=max(acc.high, price),
        low=min(acc.low, price),
        close=price if ts >= acc.close_ts else acc.close,
        count=acc.count + 1,
        open_ts=min(acc.open_ts, ts),
        close_ts=max(acc.close_ts, ts),
    )


def merge_ohlc(a: OHLC | None, b: OHLC | None) -> OHLC | None:
    """``merger`` of ``fold_window``: join two partial windows of the same key."""
    if a is None or b is None:
        return a if b is None else b
    first = a if a.open_ts <= b.open_ts else b
    later_close = a if a.close_ts > b.close_ts else b
    return OHLC(
        open=first.open,
        high=max(a.high, b.high),
        low=min(a.low, b.low),
        close=later_close.close,
        count=a.count + b.count,
        open_ts=first.open_ts,
        close_ts=later_close.close_ts,
    )


def ohlc_record(key: str, window_start: datetime, window_end: datetime, acc: OHLC) -> dict[str, Any]:
    """The output record of one closed window of ``key`` (``exchange:symbol``); times epoch ms."""
    exchange, _, symbol = key.partition(":")
    return {
        "exchange": exchange,
        "symbol": symbol,
        "window_start_ms": int(window_start.timestamp() * 1000),
        "window_end_ms": int(window_end.timestamp() * 1000),
        **acc.to_dict(),
    }
