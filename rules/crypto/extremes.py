"""Latest low and high price of one symbol across the trusted exchanges.

The price of an exchange is its mid (not ``last``: a last trade can be minutes old on a quiet
pair), taken only from the counted quotes of the book, so stale quotes and other coins behind the
same ticker never show up as a low or a high. Ties go to the alphabetically first exchange.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from rules.crypto.book import BookView


@dataclass(frozen=True)
class Extremes:
    """One ``extremes`` record: lowest and highest mid across exchanges at ``ts`` (newest recv_ts_ms)."""

    symbol: str
    ts: int
    low: float
    low_exchange: str
    high: float
    high_exchange: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def compute_extremes(view: BookView) -> Extremes | None:
    """Lowest and highest mid of ``view.counted``; None when no exchange is counted."""
    if not view.counted:
        return None
    low = min(view.counted, key=lambda q: (q.mid, q.exchange))
    high = min(view.counted, key=lambda q: (-q.mid, q.exchange))
    return Extremes(view.symbol, view.ts, low.mid, low.exchange, high.mid, high.exchange)
