"""Latest low and high price of one symbol across the trusted exchanges.

The price of an exchange is its mid (not ``last``: a last trade can be minutes old on a quiet
pair), taken only from the counted quotes of the book, so stale quotes and other coins behind the
same ticker never show up as a low or a high. Ties go to the alphabetically first exchange.
"""

from __future__ import annotations

from contracts.extremes import Extremes
from rules.crypto.book import BookView


def compute_extremes(view: BookView) -> Extremes | None:
    """Lowest and highest mid of ``view.counted``; None when no exchange is counted."""
    if not view.counted:
        return None
    low = min(view.counted, key=lambda q: (q.mid, q.exchange))
    high = min(view.counted, key=lambda q: (-q.mid, q.exchange))
    return Extremes(view.symbol, view.ts, low.mid, low.exchange, high.mid, high.exchange)
