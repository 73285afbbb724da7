"""Value every wallet from the latest spreads, and the InfluxDB points of a valuation.

Points (bucket ``crypto``, through ``crypto.points`` and the crypto store like every crypto point):
``wallet_valuation`` (tags owner, account - an account name, or ``*`` for all an owner's accounts -,
currency) and ``wallet_asset`` (tags owner, asset, currency; the owner's accounts together). The
point time is the valuation instant truncated to the interval, so a restart within a minute
rewrites that minute's points instead of adding some. docs/wallets.md lists the fields.
"""

from __future__ import annotations

from collections.abc import Mapping

from influxdb_client import Point

from contracts.spread import SpreadRecord
from contracts.wallet import Valuation
from rules.crypto.fees import FeeTable
from rules.wallet.ledger import Position
from rules.wallet.valuation import merge_positions, value_positions
from sinks.influx_points.fields import at_ms, set_fields
from wallets.store import WalletScope, WalletStore

WALLET_VALUATION = "wallet_valuation"
WALLET_ASSET = "wallet_asset"
ALL_ACCOUNTS = "*"
INT_FIELDS = frozenset({"unpriced"})


def owner_valuations(store: WalletStore, scope: WalletScope, spreads: Mapping[str, SpreadRecord], fees: FeeTable, ts_ms: int,
                     max_age_ms: int | None) -> dict[str, list[Valuation]]:
    """Per owner in scope: one valuation per account, then the owner's total (account ``*``)."""
    by_owner: dict[str, list[tuple[str, dict[str, Position]]]] = {}
    for a in store.accounts(scope):
        by_owner.setdefault(a.owner, []).append((a.name, store.positions(scope, a.account_id)))
    out: dict[str, list[Valuation]] = {}
    for owner, books in by_owner.items():
        vals = [value_positions(owner, name, ts_ms, pos, store.currency, spreads, fees, max_age_ms) for name, pos in books]
        vals.append(value_positions(owner, ALL_ACCOUNTS, ts_ms, merge_positions(p for _, p in books), store.currency, spreads, fees,
                                    max_age_ms))
        out[owner] = vals
    return out


def valuation_points(v: Valuation, point_ms: int) -> list[Point]:
    """``wallet_valuation`` of ``v``, and for an owner's total one ``wallet_asset`` per asset."""
    p = Point(WALLET_VALUATION).tag("owner", v.owner).tag("account", v.account).tag("currency", v.currency)
    set_fields(p, INT_FIELDS, value_bid=v.value_bid, value_mid=v.value_mid, realized_pnl=v.realized_pnl,
               unrealized_pnl=v.unrealized_pnl, unpriced=len(v.unpriced))
    points = [at_ms(p, point_ms)]
    if v.account == ALL_ACCOUNTS:
        for a in v.assets:
            q = Point(WALLET_ASSET).tag("owner", v.owner).tag("asset", a.asset).tag("currency", v.currency)
            set_fields(q, INT_FIELDS, quantity=a.quantity, value_bid=a.value_bid, value_mid=a.value_mid, cost=a.cost,
                       uncosted_quantity=a.uncosted_quantity, realized_pnl=a.realized_pnl, unrealized_pnl=a.unrealized_pnl,
                       allocation_pct=a.allocation_pct)
            points.append(at_ms(q, point_ms))
    return points
