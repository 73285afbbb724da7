"""An exchange account's ccxt answers -> ledger entries: its trades, and transfers that match its balance.

``fetch_my_trades`` gives the trades (each becomes a buy or sell with its fee and ``ref``
``<exchange>:<trade id>``, so a repeated import adds nothing). The exchange's deposits and
withdrawals are not fetched; instead ``fetch_balance`` tells what the account holds, and any
difference between that and the ledger after the trades becomes one transfer per asset:
a deposit dated just before the first new trade (so the trades have something to spend; its
units have no cost basis unless it is the currency), or a withdrawal dated now. Assets outside
the known list are skipped and reported, never guessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from contracts.wallet import LedgerEntry

TOLERANCE = 1e-9  # relative: differences below this are float noise, not transfers


@dataclass(frozen=True)
class SyncPlan:
    """What an exchange import adds: trades, balancing transfers, and assets it had to skip."""

    trades: tuple[LedgerEntry, ...]
    transfers: tuple[LedgerEntry, ...]
    skipped_assets: tuple[str, ...]

    def entries(self) -> list[LedgerEntry]:
        return sorted([*self.transfers, *self.trades], key=lambda e: e.ts_ms)


def trade_entry(exchange: str, trade: Mapping[str, Any], currency: str) -> LedgerEntry | None:
    """One ccxt unified trade as a ledger entry; None for a trade not against ``currency``."""
    base, _, quote = str(trade["symbol"]).partition("/")
    quote = quote.split(":")[0]
    if quote != currency:
        return None
    fee = trade.get("fee") or {}
    fee_cost = float(fee.get("cost") or 0.0)
    return LedgerEntry(ts_ms=int(trade["timestamp"]), kind="buy" if trade["side"] == "buy" else "sell", asset=base,
                       quantity=float(trade["amount"]), price=float(trade["price"]), quote=quote, fee=abs(fee_cost),
                       fee_asset=(fee.get("currency") or quote) if fee_cost else None, ref=f"{exchange}:{trade['id']}",
                       note=f"{exchange} trade {trade['id']}")


def trade_deltas(trades: Iterable[LedgerEntry], currency: str) -> dict[str, float]:
    """How much each asset's balance changes through ``trades`` (buys against ``currency``)."""
    out: dict[str, float] = {}

    def add(asset: str, q: float) -> None:
        out[asset] = out.get(asset, 0.0) + q

    for t in trades:
        assert t.price is not None
        sign = 1.0 if t.kind == "buy" else -1.0
        add(t.asset, sign * t.quantity)
        add(currency, -sign * t.quantity * t.price)
        if t.fee:
            add(t.fee_asset or currency, -t.fee)
    return out


def plan_sync(exchange: str, held: Mapping[str, float], known_refs: set[str], trades: Sequence[Mapping[str, Any]],
              balance_total: Mapping[str, Any], currency: str, known_assets: Iterable[str], now_ms: int) -> SyncPlan:
    """The entries that bring a ledger (``held`` per asset, ``known_refs`` already imported) to the exchange's state."""
    known = frozenset(known_assets) | {currency}
    new: dict[str, LedgerEntry] = {}
    for t in trades:
        e = trade_entry(exchange, t, currency)
        if e is not None and e.ref not in known_refs and e.asset in known:
            new[e.ref or ""] = e
    fresh = sorted(new.values(), key=lambda e: e.ts_ms)
    after = dict(held)
    for asset, q in trade_deltas(fresh, currency).items():
        after[asset] = after.get(asset, 0.0) + q
    reported = {str(a): float(q) for a, q in balance_total.items() if q is not None}
    skipped = sorted(a for a, q in reported.items() if a not in known and q != 0)
    first = fresh[0].ts_ms - 1 if fresh else now_ms
    transfers = []
    for asset in sorted(known & (set(reported) | set(after))):
        diff = reported.get(asset, 0.0) - after.get(asset, 0.0)
        if abs(diff) <= TOLERANCE * max(1.0, abs(reported.get(asset, 0.0))):
            continue
        if diff > 0:
            transfers.append(LedgerEntry(first, "deposit", asset, diff, None,
                                         note=f"{exchange} balance sync: held before the imported trades"))
        else:
            transfers.append(LedgerEntry(now_ms, "withdrawal", asset, -diff, note=f"{exchange} balance sync: no longer held"))
    return SyncPlan(tuple(fresh), tuple(transfers), tuple(skipped))
