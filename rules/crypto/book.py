"""Per-symbol state: the latest quote of each exchange, and which of them may be trusted now.

The clock is the newest ``recv_ts_ms`` seen for the symbol, never the wall clock, so a replay of
the same quotes gives the same records. ``recv_ts_ms`` (not ``exchange_ts_ms``) is used because
many exchanges stamp a ticker with the time of the last trade, which is old on quiet pairs while
the bid/ask are live. A quote drops out when it is older than ``stale_after_ms`` and is forgotten
after ``evict_after_ms``. Quotes whose mid is more than ``outlier_pct`` from the median mid of the
fresh quotes are excluded (a different coin behind the same ticker); with two exchanges that
disagree, both are excluded, since nothing says which one is right.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from contracts.quote import Quote


@dataclass(frozen=True)
class BookRules:
    """Thresholds of the book; times in milliseconds, ``outlier_pct`` in percent."""

    stale_after_ms: int = 30_000
    evict_after_ms: int = 600_000
    outlier_pct: float = 10.0

    @classmethod
    def from_settings(cls, settings: Any) -> BookRules:
        """From ``rules.crypto.config.CryptoSettings`` (seconds there, milliseconds here)."""
        return cls(
            stale_after_ms=int(settings.stale_after_s * 1000),
            evict_after_ms=int(settings.evict_after_s * 1000),
            outlier_pct=settings.outlier_pct,
        )


@dataclass(frozen=True)
class Exclusion:
    """Why one exchange is not in the best bid / ask: ``reason`` is ``stale`` or ``outlier``."""

    exchange: str
    reason: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"exchange": self.exchange, "reason": self.reason, "detail": self.detail}


@dataclass(frozen=True)
class BookView:
    """What the rules see after one update: trusted quotes and excluded exchanges, sorted by exchange."""

    symbol: str
    ts: int
    counted: tuple[Quote, ...]
    excluded: tuple[Exclusion, ...]


@dataclass
class SymbolBook:
    """Latest quote per exchange of one symbol (picklable: it is Bytewax state)."""

    symbol: str
    quotes: dict[str, Quote] = field(default_factory=dict)
    newest_ts_ms: int = 0

    def apply(self, quote: Quote) -> bool:
        """Keep ``quote`` unless the book already holds a newer one of its exchange; False if ignored."""
        held = self.quotes.get(quote.exchange)
        if held is not None and held.recv_ts_ms > quote.recv_ts_ms:
            return False
        self.quotes[quote.exchange] = quote
        self.newest_ts_ms = max(self.newest_ts_ms, quote.recv_ts_ms)
        return True

    def evict(self, rules: BookRules) -> None:
        """Forget quotes older than ``evict_after_ms``: bounded state, and gone exchanges stop being reported."""
        horizon = self.newest_ts_ms - rules.evict_after_ms
        for exchange in [e for e, q in self.quotes.items() if q.recv_ts_ms < horizon]:
            del self.quotes[exchange]

    def view(self, rules: BookRules) -> BookView:
        """Split the held quotes into counted and excluded (stale first, then outliers among the fresh)."""
        excluded: list[Exclusion] = []
        fresh: list[Quote] = []
        for exchange in sorted(self.quotes):
            quote = self.quotes[exchange]
            age_ms = self.newest_ts_ms - quote.recv_ts_ms
            if age_ms > rules.stale_after_ms:
                excluded.append(Exclusion(exchange, "stale", f"last quote {age_ms / 1000:g} s older than the newest"))
            else:
                fresh.append(quote)
        counted: list[Quote] = []
        if fresh:
            median = statistics.median(q.mid for q in fresh)
            for quote in fresh:
                off_pct = abs(quote.mid - median) / median * 100
                if off_pct > rules.outlier_pct:
                    detail = f"mid {quote.mid:.10g} is {off_pct:.2f}% from the median {median:.10g} of {len(fresh)} exchanges"
                    excluded.append(Exclusion(quote.exchange, "outlier", detail))
                else:
                    counted.append(quote)
        excluded.sort(key=lambda e: e.exchange)
        return BookView(self.symbol, self.newest_ts_ms, tuple(counted), tuple(excluded))


def update_book(state: SymbolBook | None, quote: Quote, rules: BookRules) -> tuple[SymbolBook, BookView | None]:
    """Bytewax ``stateful_map`` mapper (keyed by symbol): fold one quote in, return the new view.

    The view is None when the quote was older than the one held for its exchange (nothing changed).
    """
    book = state if state is not None else SymbolBook(quote.symbol)
    if not book.apply(quote):
        return book, None
    book.evict(rules)
    return book, book.view(rules)
