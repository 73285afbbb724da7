"""One ccxt client per exchange: ccxt.pro (websockets + REST) when it has the class, else async REST.

The rate limiter stays on (``enableRateLimit``); ``timeout`` is ccxt's own per-request limit in ms.
"""

from __future__ import annotations

from typing import Any

import ccxt.async_support as ccxt_async
import ccxt.pro as ccxt_pro


def make_client(exchange_id: str, *, websocket: bool = True, timeout_s: float = 10.0, **options: Any) -> Any:
    """A configured async ccxt exchange; raises ``ValueError`` for an id ccxt does not know."""
    module = ccxt_pro if websocket and exchange_id in ccxt_pro.exchanges else ccxt_async
    cls = getattr(module, exchange_id, None)
    if cls is None or exchange_id not in ccxt_async.exchanges:
        raise ValueError(f"unknown ccxt exchange id {exchange_id!r}")
    config = {"enableRateLimit": True, "timeout": int(timeout_s * 1000), **options}
    return cls(config)


def can_watch(client: Any) -> str | None:
    """``watchTickers`` or ``watchTicker`` when the client streams tickers, else None."""
    has = getattr(client, "has", {}) or {}
    for method in ("watchTickers", "watchTicker"):
        if has.get(method) is True:
            return method
    return None
