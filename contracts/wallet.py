"""Traders' wallets: accounts, ledger entries and valuations (docs/wallets.md).

An account (an exchange account or a wallet) belongs to one owner (a dashboard user name) and
holds balances per asset that only its ledger changes: deposits, withdrawals, buys and sells
with their fees. Quantities and prices are floats in the asset's and the valuation currency's
units; times are epoch milliseconds. The ledger lives in the wallet database (SQLite by default),
never in InfluxDB; valuations go to InfluxDB as ``wallet_valuation`` and ``wallet_asset``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

EntryKind = Literal["deposit", "withdrawal", "buy", "sell"]
ENTRY_KINDS: tuple[EntryKind, ...] = ("deposit", "withdrawal", "buy", "sell")
AccountKind = Literal["exchange", "wallet"]
ACCOUNT_KINDS: tuple[AccountKind, ...] = ("exchange", "wallet")


@dataclass(frozen=True)
class Account:
    """One account of one owner; ``exchange`` is the ccxt id of an exchange account (None for a wallet)."""

    account_id: int
    owner: str
    name: str
    kind: AccountKind
    exchange: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LedgerEntry:
    """One change of an account's balances.

    ``asset`` is what is deposited, withdrawn, bought or sold, ``quantity`` (> 0) how much.
    Trades have a ``price`` per unit in ``quote``; a deposit's ``price`` is its cost basis per unit
    (None: unknown, so the units count in the value but in no P&L). ``fee`` (>= 0) is paid in
    ``fee_asset`` (the quote when None). ``ref`` is an external id (an exchange's trade id) that makes
    a repeated import add nothing.
    """

    ts_ms: int
    kind: EntryKind
    asset: str
    quantity: float
    price: float | None = None
    quote: str | None = None
    fee: float = 0.0
    fee_asset: str | None = None
    ref: str | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AssetValue:
    """One asset of a valuation. ``value_bid`` is what selling it all at the best bid across exchanges
    would fetch after that exchange's taker fee; None when no live price is known."""

    asset: str
    quantity: float
    value_bid: float | None
    value_mid: float | None
    cost: float
    uncosted_quantity: float
    realized_pnl: float
    unrealized_pnl: float | None
    allocation_pct: float | None
    price_exchange: str | None = None


@dataclass(frozen=True)
class Valuation:
    """The value of one account (or of all an owner's accounts, ``account`` = ``*``) at ``ts_ms``."""

    owner: str
    account: str
    ts_ms: int
    currency: str
    value_bid: float
    value_mid: float
    realized_pnl: float
    unrealized_pnl: float
    unpriced: tuple[str, ...] = ()
    assets: tuple[AssetValue, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
