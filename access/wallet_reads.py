"""Whose wallets a user sees, the live prices that value them, and their stored valuation history.

Shared by the dashboard's Wallet page and the API, like ``access.scope``: a trader sees only
their own wallets; an admin every trader's, read only; nobody any API key (only whether one is
stored). Reads are Flux text with parameters (``access.flux``), run by the caller's runner.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from access import flux
from access.flux import Params, TimeBound
from access.reads import Runner
from access.users import User
from contracts.spread import SpreadRecord
from wallets.store import WalletScope
from wallets.valuations import ALL_ACCOUNTS, WALLET_VALUATION

HISTORY_FIELDS = ("value_bid", "value_mid", "realized_pnl", "unrealized_pnl")
SPREAD_PRICE_FIELDS = ("best_bid", "best_bid_exchange", "best_ask", "best_ask_exchange", "mid")


def wallet_scope_for(user: User) -> WalletScope:
    """A trader: their own wallets; an admin: all (read only); every other role: none."""
    if user.role == "trader":
        return WalletScope(owner=user.name)
    if user.role == "admin":
        return WalletScope(all_owners=True)
    return WalletScope()


def may_write(user: User, owner: str) -> bool:
    """Only the owner adds to or imports into their ledger (an admin reads, never writes)."""
    return user.role == "trader" and user.name == owner


def history_flux(bucket: str, owner: str, account: str, start: TimeBound, stop: datetime | None) -> tuple[str, Params]:
    """The stored valuations of one owner's account (``*`` = all their accounts)."""
    p: Params = {"p_owner": owner, "p_account": account}
    q = flux.head(bucket, WALLET_VALUATION, start, stop, p)
    q += f"  |> filter(fn: (r) => r.owner == p_owner and r.account == p_account and {flux.field_in(HISTORY_FIELDS)})\n"
    q += '  |> keep(columns: ["_time", "_field", "_value"])\n'
    return q, p


def valuation_history(history: Runner, bucket: str, scope: WalletScope, owner: str, account: str | None,
                      start: TimeBound, stop: datetime | None) -> pd.DataFrame:
    """``time`` and the ``HISTORY_FIELDS`` per stored minute; empty outside the scope."""
    cols = ["time", *HISTORY_FIELDS]
    if not scope.sees(owner):
        return pd.DataFrame(columns=cols)
    long = history(*history_flux(bucket, owner, account or ALL_ACCOUNTS, start, stop))
    if long.empty:
        return pd.DataFrame(columns=cols)
    out = long.pivot_table(index="_time", columns="_field", values="_value", aggfunc="last").reset_index()
    out.columns.name = None
    return out.rename(columns={"_time": "time"}).reindex(columns=cols).sort_values("time", ignore_index=True)


def latest_spreads_flux(bucket: str, symbols: list[str], max_age: timedelta) -> tuple[str, Params]:
    """The newest price fields of each symbol's spread within ``max_age``."""
    p: Params = {}
    q = flux.head(bucket, "spreads", max_age, None, p)
    q += f"  |> filter(fn: (r) => {flux.any_equal('symbol', symbols, 'p_s', p)} and {flux.field_in(SPREAD_PRICE_FIELDS)})\n"
    q += '  |> last()\n  |> keep(columns: ["_time", "_field", "_value", "symbol"])\n'
    return q, p


def latest_spreads(live: Runner, bucket: str, symbols: list[str], max_age: timedelta) -> dict[str, SpreadRecord]:
    """The newest spread of each symbol (only the fields a valuation uses are real; the rest zero)."""
    if not symbols:
        return {}
    long = live(*latest_spreads_flux(bucket, sorted(symbols), max_age))
    out: dict[str, SpreadRecord] = {}
    if long.empty:
        return out
    for symbol, g in long.groupby("symbol"):
        f = dict(zip(g["_field"], g["_value"], strict=True))
        if not all(k in f for k in ("best_bid", "best_bid_exchange", "mid")):
            continue
        ts = int(pd.Timestamp(g["_time"].max()).timestamp() * 1000)
        out[str(symbol)] = SpreadRecord(str(symbol), ts, float(f["best_bid"]), str(f["best_bid_exchange"]),
                                        float(f.get("best_ask") or f["mid"]), str(f.get("best_ask_exchange", "")), float(f["mid"]),
                                        0.0, 0.0, 0.0, 0, [])
    return out
