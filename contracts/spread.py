"""The ``crypto.spreads`` record (also InfluxDB ``spreads``); built by ``rules.crypto.spread``."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class SpreadRecord:
    """One ``crypto.spreads`` record; ``ts`` is the book's clock (newest recv_ts_ms), prices in quote currency."""

    symbol: str
    ts: int
    best_bid: float
    best_bid_exchange: str
    best_ask: float
    best_ask_exchange: str
    mid: float
    spread: float
    spread_pct: float
    arbitrage_pct_after_fees: float
    exchanges_counted: int
    exchanges_excluded: list[dict[str, str]]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
