"""One call per quote for the Bytewax flow: book update, spread and extremes, with settings bound.

    rules = SymbolRules.from_settings(crypto_settings)
    updates = op.stateful_map("book", keyed_by_symbol, rules.update)   # -> SymbolUpdate | None
    spreads = op.filter_map("spreads", updates, lambda kv: ...)        # SymbolUpdate.spread
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contracts.extremes import Extremes
from contracts.quote import Quote
from contracts.spread import SpreadRecord
from rules.crypto.book import BookRules, BookView, SymbolBook, update_book
from rules.crypto.extremes import compute_extremes
from rules.crypto.fees import FeeTable, build_fee_table
from rules.crypto.spread import compute_spread


@dataclass(frozen=True)
class SymbolUpdate:
    """What one quote changed for its symbol; ``spread`` is None with fewer than ``min_exchanges`` counted."""

    view: BookView
    spread: SpreadRecord | None
    extremes: Extremes | None


@dataclass(frozen=True)
class SymbolRules:
    """The bound rules of the per-symbol book (picklable, no hidden state)."""

    book: BookRules
    fees: FeeTable
    min_exchanges: int = 2

    @classmethod
    def from_settings(cls, settings: Any) -> SymbolRules:
        """From ``CryptoSettings``: fees from ccxt for the configured exchanges, overrides from config."""
        fees = build_fee_table(settings.exchanges, settings.taker_fees, settings.default_taker_fee)
        return cls(BookRules.from_settings(settings), fees, settings.min_exchanges)

    def update(self, state: SymbolBook | None, quote: Quote) -> tuple[SymbolBook, SymbolUpdate | None]:
        """``stateful_map`` mapper keyed by symbol; None when the quote was older than the held one."""
        book, view = update_book(state, quote, self.book)
        if view is None:
            return book, None
        return book, SymbolUpdate(view, compute_spread(view, self.fees, self.min_exchanges), compute_extremes(view))
