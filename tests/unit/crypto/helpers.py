"""Quote builder for hand-computed cases."""

from __future__ import annotations

from contracts.quote import Quote, validate_quote

T0 = 1_767_225_600_000


def q(exchange: str, bid: float, ask: float, t_s: float = 0.0, symbol: str = "BTC/USDT", last: float | None = None) -> Quote:
    """A valid quote of ``exchange`` received ``t_s`` seconds after T0."""
    return validate_quote(
        {"exchange": exchange, "symbol": symbol, "bid": bid, "ask": ask, "last": last, "recv_ts_ms": T0 + int(t_s * 1000)}
    )
