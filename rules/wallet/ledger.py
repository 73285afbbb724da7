"""Balances and FIFO P&L of one account, by replaying its ledger in time order.

Every asset but the valuation ``currency`` (USDT by default) is held as lots, oldest first; a sale,
a withdrawal or a fee paid in the asset takes units from the oldest lots (FIFO). Fees:

- buy, fee in the quote: the lot costs ``quantity * price + fee``;
- buy, fee in the asset bought: the lot holds ``quantity - fee`` and costs ``quantity * price``;
- sell, fee in the quote: proceeds are ``quantity * price - fee``;
- sell, fee in the asset sold: ``fee`` more units leave the lots, their cost counted against the proceeds;
- a fee in any other asset leaves that asset's lots and its cost is a realized loss of that asset.

A withdrawal is a transfer out: its lots leave at cost, nothing is realized. A deposit's units
have the cost basis given as its price; without one they are *uncosted* and count in no P&L
(their share of a later sale's proceeds is not realized P&L either). Trades must be against the
valuation currency. An entry that would make a balance negative, names an unknown asset or is
malformed raises ``LedgerError`` with its index, so the caller can name the row.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from contracts.wallet import ENTRY_KINDS, LedgerEntry

EPS = 1e-12  # relative slack for float sums: 0.1 + 0.2 - 0.3 is not a negative balance


class LedgerError(ValueError):
    """Entry ``index`` of the replayed list cannot be applied; the message says why."""

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(reason)
        self.index = index
        self.reason = reason


@dataclass
class Lot:
    quantity: float
    unit_cost: float | None  # None: deposited without a cost basis


@dataclass(frozen=True)
class Position:
    """One asset's holding after the ledger: quantity, cost of its costed units, realized P&L."""

    asset: str
    quantity: float
    cost: float
    uncosted_quantity: float
    realized_pnl: float


@dataclass
class _Holding:
    lots: deque[Lot] = field(default_factory=deque)
    realized: float = 0.0

    def quantity(self) -> float:
        return sum(lot.quantity for lot in self.lots)

    def take(self, quantity: float) -> tuple[float, float]:
        """Remove ``quantity`` units FIFO; (cost of the costed units taken, uncosted units taken)."""
        cost = uncosted = 0.0
        left = quantity
        while left > 0 and self.lots:
            lot = self.lots[0]
            used = min(lot.quantity, left)
            if lot.unit_cost is None:
                uncosted += used
            else:
                cost += used * lot.unit_cost
            lot.quantity -= used
            left -= used
            if lot.quantity <= EPS * max(1.0, quantity):
                self.lots.popleft()
        return cost, uncosted


def _short(need: float, have: float) -> bool:
    return need - have > EPS * max(1.0, abs(need), abs(have))


class Ledger:
    """The replay state of one account (or of several, merged)."""

    def __init__(self, currency: str, known_assets: Iterable[str]) -> None:
        self.currency = currency
        self.known = frozenset(known_assets) | {currency}
        self.cash = 0.0
        self.holdings: dict[str, _Holding] = {}

    def _holding(self, asset: str) -> _Holding:
        return self.holdings.setdefault(asset, _Holding())

    def _check_asset(self, asset: str, what: str) -> None:
        if asset not in self.known:
            raise ValueError(f"unknown asset {asset!r} ({what}); known: {', '.join(sorted(self.known))}")

    def _pay(self, asset: str, quantity: float, why: str) -> None:
        """Take ``quantity`` of ``asset`` out; a non-currency asset's cost is a realized loss."""
        if quantity <= 0:
            return
        if asset == self.currency:
            if _short(quantity, self.cash):
                raise ValueError(f"{asset} balance {self.cash:.10g} is less than the {quantity:.10g} {why}")
            self.cash -= quantity
            return
        h = self._holding(asset)
        have = h.quantity()
        if _short(quantity, have):
            raise ValueError(f"{asset} balance {have:.10g} is less than the {quantity:.10g} {why}")
        cost, _ = h.take(quantity)
        h.realized -= cost

    def apply(self, e: LedgerEntry) -> None:
        """Apply one entry; raises ``ValueError`` on a bad one (the ledger is then unusable: ``replay`` stops)."""
        self._apply(e)

    def _apply(self, e: LedgerEntry) -> None:
        if e.kind not in ENTRY_KINDS:
            raise ValueError(f"unknown entry type {e.kind!r}; one of {', '.join(ENTRY_KINDS)}")
        self._check_asset(e.asset, "asset")
        if not e.quantity > 0:
            raise ValueError(f"quantity must be positive, got {e.quantity}")
        if not e.fee >= 0:
            raise ValueError(f"fee must be zero or positive, got {e.fee}")
        if e.price is not None and not e.price > 0:
            raise ValueError(f"price must be positive, got {e.price}")
        trade = e.kind in ("buy", "sell")
        if trade:
            if e.price is None:
                raise ValueError(f"a {e.kind} needs a price")
            if (e.quote or self.currency) != self.currency:
                raise ValueError(f"trades are against {self.currency} only, not {e.quote}")
            if e.asset == self.currency:
                raise ValueError(f"cannot {e.kind} {self.currency} against itself")
        fee_asset = e.fee_asset or (self.currency if trade else e.asset)
        self._check_asset(fee_asset, "fee asset")
        if trade:
            (self._buy if e.kind == "buy" else self._sell)(e, fee_asset)
        elif e.kind == "deposit":
            self._deposit(e)
            self._pay(fee_asset, e.fee, "deposit fee")
        else:
            if e.asset == self.currency:
                self._pay(e.asset, e.quantity, "withdrawn")
            else:
                self._withdraw(e)
            self._pay(fee_asset, e.fee, "withdrawal fee")

    def _deposit(self, e: LedgerEntry) -> None:
        if e.asset == self.currency:
            self.cash += e.quantity
        else:
            self._holding(e.asset).lots.append(Lot(e.quantity, e.price))

    def _withdraw(self, e: LedgerEntry) -> None:
        h = self._holding(e.asset)
        have = h.quantity()
        if _short(e.quantity, have):
            raise ValueError(f"{e.asset} balance {have:.10g} is less than the {e.quantity:.10g} withdrawn")
        h.take(e.quantity)  # transferred out at cost: nothing realized

    def _buy(self, e: LedgerEntry, fee_asset: str) -> None:
        assert e.price is not None
        cost = e.quantity * e.price
        if fee_asset == self.currency:
            self._pay(self.currency, cost + e.fee, f"paid for {e.quantity:.10g} {e.asset} with its fee")
            self._holding(e.asset).lots.append(Lot(e.quantity, (cost + e.fee) / e.quantity))
        elif fee_asset == e.asset:
            if not e.fee < e.quantity:
                raise ValueError(f"fee {e.fee:.10g} {e.asset} is not less than the {e.quantity:.10g} bought")
            self._pay(self.currency, cost, f"paid for {e.quantity:.10g} {e.asset}")
            got = e.quantity - e.fee
            self._holding(e.asset).lots.append(Lot(got, cost / got))
        else:
            self._pay(self.currency, cost, f"paid for {e.quantity:.10g} {e.asset}")
            self._pay(fee_asset, e.fee, "trade fee")
            self._holding(e.asset).lots.append(Lot(e.quantity, e.price))

    def _sell(self, e: LedgerEntry, fee_asset: str) -> None:
        assert e.price is not None
        h = self._holding(e.asset)
        leaving = e.quantity + (e.fee if fee_asset == e.asset else 0.0)
        have = h.quantity()
        if _short(leaving, have):
            raise ValueError(f"{e.asset} balance {have:.10g} is less than the {leaving:.10g} sold")
        proceeds = e.quantity * e.price - (e.fee if fee_asset == self.currency else 0.0)
        if proceeds < 0:
            raise ValueError(f"fee {e.fee:.10g} is more than the {e.quantity * e.price:.10g} the sale fetches")
        cost, uncosted = h.take(leaving)
        costed_share = 1.0 - uncosted / leaving
        h.realized += proceeds * costed_share - cost
        self.cash += proceeds
        if fee_asset not in (self.currency, e.asset):
            self._pay(fee_asset, e.fee, "trade fee")

    def positions(self) -> dict[str, Position]:
        """Every asset ever held (currency included, at cost = quantity), by name."""
        out = {self.currency: Position(self.currency, self.cash, self.cash, 0.0, 0.0)}
        for asset, h in sorted(self.holdings.items()):
            qty = h.quantity()
            cost = sum(lot.quantity * lot.unit_cost for lot in h.lots if lot.unit_cost is not None)
            uncosted = sum(lot.quantity for lot in h.lots if lot.unit_cost is None)
            out[asset] = Position(asset, qty, cost, uncosted, h.realized)
        return out


def replay(entries: Sequence[LedgerEntry], currency: str, known_assets: Iterable[str]) -> dict[str, Position]:
    """Positions after ``entries`` in the order given (callers sort by time); ``LedgerError`` names the entry."""
    ledger = Ledger(currency, known_assets)
    for i, e in enumerate(entries):
        try:
            ledger.apply(e)
        except ValueError as exc:
            raise LedgerError(i, str(exc)) from None
    return ledger.positions()


def in_time_order(entries: Iterable[LedgerEntry]) -> list[LedgerEntry]:
    """Entries by time; equal times keep their order (a CSV's rows, the store's insertion order)."""
    return sorted(entries, key=lambda e: e.ts_ms)
