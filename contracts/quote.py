"""The quote contract: one normalized top of book of one exchange and symbol (topic ``crypto.tickers``).

``validate_quote`` is the only way to build a ``Quote`` from untrusted numbers: it raises
``InvalidQuote`` with a reason a person can act on, and that reason goes to ``crypto.deadletter``.
Wire format is JSON (``to_json`` / ``from_json``); ``schemas/quote.avsc`` describes the same record.
Prices are in the quote currency, sizes and volume in the base currency, times in epoch ms UTC.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import orjson

from contracts.deadletter import DeadLetter, payload_bytes

# Bounds that no real spot market reaches: beyond them the number is a bug, not a price.
MIN_PRICE = 1e-12
MAX_PRICE = 1e9
MAX_AMOUNT = 1e15
# An exchange's own ask more than this ratio above its bid is a broken book, not a market.
MAX_BOOK_RATIO = 2.0
MIN_TS_MS = 1_230_768_000_000  # 2009-01-01, before any crypto exchange
MAX_TS_MS = 4_102_444_800_000  # 2100-01-01: beyond it the number is not a time
# An exchange time further ahead of our receive time is a wrong clock (same margin as telemetry).
MAX_FUTURE_MS = 5 * 60_000
# An exchange time older than the crypto bucket's retention (services/stack.sh CRYPTO_RETENTION_DAYS,
# 30 days) would be refused by InfluxDB; a ticker's time may be its last trade, hours or days old.
MAX_TS_AGE_MS = 30 * 86_400_000
# A number sent as text: plain decimal notation only (float() would also take "1_0", " 1 ", "infinity").
NUMBER_TEXT_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
EXCHANGE_RE = re.compile(r"^[a-z0-9_.-]{1,40}$")
# ccxt unified: BASE/QUOTE, optionally :SETTLE and -expiry/strike/type for derivatives
# Where a quote came from: a live exchange through ccxt, or the simulated market (demo, tests).
# ``unknown`` only for records written before the field existed.
QUOTE_SOURCES = ("ccxt", "simulated", "unknown")
SYMBOL_RE = re.compile(r"^[A-Za-z0-9._$-]{1,32}/[A-Za-z0-9._$-]{1,32}(:[A-Za-z0-9._$-]{1,64})?$")


class InvalidQuote(ValueError):
    """A quote that breaks the contract; ``reason`` goes to the dead-letter record."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Quote:
    """A validated top of book. Build it with ``validate_quote``, never directly from raw data."""

    exchange: str
    symbol: str
    bid: float
    ask: float
    last: float | None
    bid_size: float | None
    ask_size: float | None
    base_volume: float | None
    exchange_ts_ms: int | None
    recv_ts_ms: int
    source: str = "unknown"  # one of QUOTE_SOURCES: a simulated price never passes for an exchange's

    @property
    def mid(self) -> float:
        """Midpoint of this exchange's own bid and ask."""
        return (self.bid + self.ask) / 2

    @property
    def key(self) -> str:
        """``exchange:symbol``: what identifies one exchange's market (the OHLC windows' key)."""
        return quote_key(self.exchange, self.symbol)

    @property
    def partition_key(self) -> str:
        """Kafka key of ``crypto.tickers``: the symbol. Every exchange's quotes of one symbol share a
        partition, in receive order, so the symbol's cross-exchange book sees them in that order
        live and when a flow catches up on a backlog (one partition per exchange+symbol let a
        catching-up flow read one exchange minutes ahead of the others and judge them stale)."""
        return self.symbol

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self))


def quote_key(exchange: str, symbol: str) -> str:
    """``exchange:symbol``, e.g. ``binance:BTC/USDT``."""
    return f"{exchange}:{symbol}"


def _number(name: str, value: Any, *, required: bool, low: float, high: float) -> float | None:
    if value is None:
        if required:
            raise InvalidQuote(f"{name}: missing")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InvalidQuote(f"{name}: not a number: {str(value)[:40]!r}")
    if isinstance(value, str) and (len(value) > 64 or not NUMBER_TEXT_RE.match(value)):
        if value.strip().lower().lstrip("+-") in ("nan", "inf", "infinity"):
            raise InvalidQuote(f"{name}: not finite: {value[:40]!r}")
        raise InvalidQuote(f"{name}: not a number: {value[:40]!r}")
    try:
        number = float(value)
    except OverflowError:  # an int beyond any float
        raise InvalidQuote(f"{name}: {str(value)[:40]}... outside [{low:g}, {high:g}]") from None
    if not math.isfinite(number):
        raise InvalidQuote(f"{name}: not finite: {value[:40]!r}" if isinstance(value, str) else f"{name}: not finite: {value!r}")
    if number < low or number > high:
        raise InvalidQuote(f"{name}: {number!r} outside [{low:g}, {high:g}]")
    return number


def _timestamp(name: str, value: Any, *, required: bool) -> int | None:
    number = _number(name, value, required=required, low=MIN_TS_MS, high=MAX_TS_MS)
    return None if number is None else int(number)


def validate_quote(fields: Mapping[str, Any], *, max_age_ms: int = MAX_TS_AGE_MS,
                   max_future_ms: int = MAX_FUTURE_MS) -> Quote:
    """Check one raw quote (keys as in ``Quote``) and return it typed; raise ``InvalidQuote`` with the reason.

    ``exchange_ts_ms`` must lie in [recv_ts_ms - max_age_ms, recv_ts_ms + max_future_ms]."""
    exchange = fields.get("exchange")
    if not isinstance(exchange, str) or not EXCHANGE_RE.match(exchange):
        raise InvalidQuote(f"exchange: not a ccxt exchange id: {str(exchange)[:40]!r}")
    symbol = fields.get("symbol")
    if not isinstance(symbol, str) or not SYMBOL_RE.match(symbol):
        raise InvalidQuote(f"symbol: not a ccxt unified symbol (BASE/QUOTE): {str(symbol)[:40]!r}")
    for name in ("bid", "ask", "last"):
        value = fields.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and -math.inf < value <= 0:
            raise InvalidQuote(f"{name}: price must be positive, got {str(value)[:40]}")
    bid = _number("bid", fields.get("bid"), required=True, low=MIN_PRICE, high=MAX_PRICE)
    ask = _number("ask", fields.get("ask"), required=True, low=MIN_PRICE, high=MAX_PRICE)
    assert bid is not None and ask is not None
    if bid > ask:
        raise InvalidQuote(f"crossed book: bid {bid!r} > ask {ask!r}")
    if ask > bid * MAX_BOOK_RATIO:
        raise InvalidQuote(f"absurd book: ask {ask!r} is more than {MAX_BOOK_RATIO:g}x bid {bid!r}")
    last = _number("last", fields.get("last"), required=False, low=MIN_PRICE, high=MAX_PRICE)
    amounts = {
        name: _number(name, fields.get(name), required=False, low=0.0, high=MAX_AMOUNT)
        for name in ("bid_size", "ask_size", "base_volume")
    }
    recv_ts_ms = _timestamp("recv_ts_ms", fields.get("recv_ts_ms"), required=True)
    assert recv_ts_ms is not None
    source = fields.get("source", "unknown")
    if source not in QUOTE_SOURCES:
        raise InvalidQuote(f"source: not one of {', '.join(QUOTE_SOURCES)}: {str(source)[:40]!r}")
    exchange_ts_ms = _timestamp("exchange_ts_ms", fields.get("exchange_ts_ms"), required=False)
    if exchange_ts_ms is not None and exchange_ts_ms > recv_ts_ms + max_future_ms:
        raise InvalidQuote(f"exchange_ts_ms: {exchange_ts_ms} is more than {max_future_ms / 1000:g} s after "
                           f"recv_ts_ms {recv_ts_ms} (exchange clock wrong?)")
    if exchange_ts_ms is not None and exchange_ts_ms < recv_ts_ms - max_age_ms:
        raise InvalidQuote(f"exchange_ts_ms: {exchange_ts_ms} is more than {max_age_ms / 86_400_000:g} days before "
                           f"recv_ts_ms {recv_ts_ms}")
    return Quote(
        exchange=exchange,
        symbol=symbol,
        bid=bid,
        ask=ask,
        last=last,
        bid_size=amounts["bid_size"],
        ask_size=amounts["ask_size"],
        base_volume=amounts["base_volume"],
        exchange_ts_ms=exchange_ts_ms,
        recv_ts_ms=recv_ts_ms,
        source=source,
    )


def from_json(payload: bytes | str | None) -> Quote:
    """Parse and re-validate a ``crypto.tickers`` value: consumers never trust the producer
    (``None``, a tombstone, is not JSON either)."""
    if payload is None:
        raise InvalidQuote("payload is not JSON: null value (a tombstone)")
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise InvalidQuote(f"payload is not JSON: {str(exc)[:120]}") from None
    if not isinstance(doc, dict):
        raise InvalidQuote("payload is not a JSON object")
    return validate_quote(doc)


def dead_letter(reason: str, source: str, payload: Any, received_at_ms: int) -> dict[str, Any]:
    """The ``crypto.deadletter`` record, in the one dead-letter format (contracts/deadletter.py).

    ``source`` (``ccxt:kraken``, ``kafka:crypto.tickers``) becomes ``source_topic``; ``payload``
    is the raw input: bytes are kept as they are, anything else as its JSON text."""
    return DeadLetter(reason, source, payload_bytes(payload), received_at_ms).to_dict()
