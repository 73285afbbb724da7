"""What a wallet is worth now: at the best bid across exchanges net of taker fees, and at the mid.

The bid value is what selling every unit now would fetch: the cross-exchange best bid of
``ASSET/CURRENCY`` (the ``crypto.spreads`` record) times ``1 - taker fee`` of the exchange quoting
it. It ignores depth - a holding larger than the top of that book would fetch less. The mid value
is the reference price. Unrealized P&L = bid value of the costed units - their cost; allocation is
each asset's share of the bid value. An asset without a spread (or with one older than
``max_age_ms``) is *unpriced*: listed, valued at nothing, and named in ``Valuation.unpriced``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from contracts.spread import SpreadRecord
from contracts.wallet import AssetValue, Valuation
from rules.crypto.fees import FeeTable
from rules.wallet.ledger import Position

DUST = 1e-12


def merge_positions(books: Iterable[Mapping[str, Position]]) -> dict[str, Position]:
    """Several accounts' positions as one (quantities, costs and realized P&L add up)."""
    out: dict[str, Position] = {}
    for book in books:
        for asset, p in book.items():
            q = out.get(asset)
            out[asset] = p if q is None else Position(asset, q.quantity + p.quantity, q.cost + p.cost,
                                                      q.uncosted_quantity + p.uncosted_quantity, q.realized_pnl + p.realized_pnl)
    return out


def net_bid(spread: SpreadRecord, fees: FeeTable) -> float:
    """The best bid after the taker fee of the exchange that quotes it."""
    return spread.best_bid * (1 - fees.taker(spread.best_bid_exchange))


def value_positions(owner: str, account: str, ts_ms: int, positions: Mapping[str, Position], currency: str,
                    spreads: Mapping[str, SpreadRecord], fees: FeeTable, max_age_ms: int | None = None) -> Valuation:
    """The valuation of ``positions`` at ``ts_ms`` from the latest spread per symbol."""
    rows: list[tuple[Position, float | None, float | None, str | None]] = []
    unpriced: list[str] = []
    for asset, p in sorted(positions.items()):
        if abs(p.quantity) <= DUST and abs(p.realized_pnl) <= DUST:
            continue  # never held, or fully sold at no P&L
        if asset == currency:
            rows.append((p, p.quantity, p.quantity, None))
            continue
        s = spreads.get(f"{asset}/{currency}")
        if s is None or (max_age_ms is not None and ts_ms - s.ts > max_age_ms):
            if p.quantity > DUST:
                unpriced.append(asset)
            rows.append((p, None, None, None))
            continue
        rows.append((p, p.quantity * net_bid(s, fees), p.quantity * s.mid, s.best_bid_exchange))
    total_bid = sum(v for _, v, _, _ in rows if v is not None)
    total_mid = sum(v for _, _, v, _ in rows if v is not None)
    assets = []
    unrealized_total = 0.0
    for p, bid, mid, exchange in rows:
        unrealized: float | None = None
        if p.asset == currency:
            unrealized = 0.0
        elif bid is not None:
            costed = p.quantity - p.uncosted_quantity
            unrealized = (bid * costed / p.quantity - p.cost) if p.quantity > DUST else 0.0
        if unrealized is not None:
            unrealized_total += unrealized
        allocation = bid / total_bid * 100 if bid is not None and total_bid > 0 else None
        assets.append(AssetValue(p.asset, p.quantity, bid, mid, p.cost, p.uncosted_quantity, p.realized_pnl,
                                 unrealized, allocation, exchange))
    return Valuation(owner=owner, account=account, ts_ms=ts_ms, currency=currency, value_bid=total_bid, value_mid=total_mid,
                     realized_pnl=sum(p.realized_pnl for p in positions.values()), unrealized_pnl=unrealized_total,
                     unpriced=tuple(unpriced), assets=tuple(assets))
