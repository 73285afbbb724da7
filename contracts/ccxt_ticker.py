"""ccxt unified ticker / order book -> ``Quote`` or a dead-letter record.

ccxt already maps every exchange's native format to its unified ticker; this module only maps
the unified names to the contract (``bidVolume`` -> ``bid_size``, ``timestamp`` ->
``exchange_ts_ms``) and lets ``validate_quote`` decide. A zero bid or ask counts as missing, since
several exchanges report an empty side as 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from contracts.quote import InvalidQuote, Quote, dead_letter, validate_quote


def has_bid_ask(ticker: Mapping[str, Any]) -> bool:
    """True when the ticker carries a usable (non-null, non-zero) bid and ask."""
    return bool(ticker.get("bid")) and bool(ticker.get("ask"))


def ticker_to_quote(exchange_id: str, ticker: Mapping[str, Any], recv_ts_ms: int, origin: str = "ccxt") -> Quote:
    """Validate one ccxt unified ticker; raises ``InvalidQuote``. ``origin``: ``ccxt`` or ``simulated``."""
    return validate_quote(
        {
            "source": origin,
            "exchange": exchange_id,
            "symbol": ticker.get("symbol"),
            "bid": ticker.get("bid"),
            "ask": ticker.get("ask"),
            "last": ticker.get("last"),
            "bid_size": ticker.get("bidVolume"),
            "ask_size": ticker.get("askVolume"),
            "base_volume": ticker.get("baseVolume"),
            "exchange_ts_ms": ticker.get("timestamp"),
            "recv_ts_ms": recv_ts_ms,
        }
    )


def with_order_book_top(ticker: Mapping[str, Any], book: Mapping[str, Any]) -> dict[str, Any]:
    """The ticker with bid/ask (and sizes) taken from the top of a ccxt unified order book."""
    merged = dict(ticker)
    for side, price_key, size_key in (("bids", "bid", "bidVolume"), ("asks", "ask", "askVolume")):
        levels = book.get(side) or []
        if levels:
            merged[price_key], merged[size_key] = levels[0][0], levels[0][1]
    if merged.get("timestamp") is None and book.get("timestamp") is not None:
        merged["timestamp"] = book["timestamp"]
    return merged


def ticker_payload(ticker: Mapping[str, Any]) -> dict[str, Any]:
    """The unified ticker without ccxt's raw ``info`` (kept out of dead letters: large, exchange-specific)."""
    return {k: v for k, v in ticker.items() if k != "info"}


def normalize(
    exchange_id: str, ticker: Mapping[str, Any], recv_ts_ms: int, origin: str
) -> tuple[Quote | None, dict[str, Any] | None]:
    """(quote, None) when valid, (None, dead-letter record from ``<origin>:<exchange>``) otherwise.

    ``origin`` becomes the quote's ``source``: ``ccxt`` for a live exchange, ``simulated`` for the market."""
    try:
        return ticker_to_quote(exchange_id, ticker, recv_ts_ms, origin), None
    except InvalidQuote as exc:
        return None, dead_letter(exc.reason, f"{origin}:{exchange_id}", ticker_payload(ticker), recv_ts_ms)
