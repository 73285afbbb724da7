"""Traders' wallets (scopes ``wallet:read`` / ``wallet:write``): accounts valued now, ledgers, history, new entries.

A user's token sees what the dashboard shows that user (``access.wallet_reads``): a trader their
own wallets, an admin every trader's (read only); a client token no wallet (it belongs to no
trader). Another owner's account answers the same 404 as an unknown one. No endpoint returns an
API key - only whether one is stored. New entries are one transaction: a row that would make a
balance negative, names an unknown asset or is malformed answers 422 naming the row, nothing stored.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Security
from pydantic import BaseModel, Field

from access.users import load_users
from access.wallet_reads import latest_spreads, may_write, valuation_history, wallet_scope_for
from api.context import ApiContext, get_context
from api.fleet import time_window
from api.problems import Problem, not_found
from api.security import Principal, current_principal
from contracts.wallet import AssetValue, LedgerEntry, Valuation
from rules.crypto.fees import FeeTable, build_fee_table
from settings.rules_env import load_crypto_settings
from wallets.config import load_wallet_settings, open_wallet_store
from wallets.store import NewEntry, WalletError, WalletScope, WalletStore
from wallets.valuations import ALL_ACCOUNTS, owner_valuations

router = APIRouter(prefix="/wallets", tags=["wallets"])
WalletReader = Annotated[Principal, Security(current_principal, scopes=["wallet:read"])]
WalletWriter = Annotated[Principal, Security(current_principal, scopes=["wallet:write"])]
Context = Annotated[ApiContext, Depends(get_context)]


class AccountOut(BaseModel):
    account_id: int
    owner: str
    name: str
    kind: str
    exchange: str | None
    api_key_stored: bool
    currency: str
    value_bid: float
    value_mid: float
    realized_pnl: float
    unrealized_pnl: float
    unpriced: list[str]
    assets: list[AssetValue] = Field(description="per asset: value_bid = selling it all now at the best bid across exchanges after "
                                                 "that exchange's taker fee; None fields = unpriced")


class Wallets(BaseModel):
    valued_at: datetime
    accounts: list[AccountOut]
    totals: list[AccountOut] = Field(description="per owner, all their accounts together (account_id 0, name '*')")


class EntryIn(BaseModel):
    time: datetime
    type: Literal["deposit", "withdrawal", "buy", "sell"]
    asset: str = Field(min_length=1, max_length=20)
    quantity: float = Field(gt=0, allow_inf_nan=False)
    price: float | None = Field(None, gt=0, allow_inf_nan=False)
    quote: str | None = None
    fee: float = Field(0.0, ge=0, allow_inf_nan=False)
    fee_asset: str | None = None
    ref: str | None = Field(None, max_length=200)
    note: str = Field("", max_length=500)


class EntryOut(EntryIn):
    entry_id: int
    source: str


class Ledger(BaseModel):
    account_id: int
    entries: list[EntryOut]


class Added(BaseModel):
    account_id: int
    added: int


class HistoryPoint(BaseModel):
    time: datetime
    value_bid: float | None
    value_mid: float | None
    realized_pnl: float | None
    unrealized_pnl: float | None


class History(BaseModel):
    owner: str
    account: str
    points: list[HistoryPoint]


@lru_cache(maxsize=4)
def _store(db_url: str) -> WalletStore:
    return open_wallet_store(load_wallet_settings())


def store() -> WalletStore:
    return _store(load_wallet_settings().db_url)


@lru_cache(maxsize=1)
def _fees() -> FeeTable:
    c = load_crypto_settings()
    return build_fee_table(c.exchanges, c.taker_fees, c.default_taker_fee)


def _who(principal: Principal, ctx: ApiContext) -> tuple[WalletScope, str | None]:
    kind, _, name = principal.subject.partition(":")
    user = load_users(ctx.settings.users_file).get(name) if kind == "user" else None
    return (wallet_scope_for(user), user.name if user and user.role == "trader" else None) if user else (WalletScope(), None)


def _account_out(v: Valuation, account_id: int, owner: str, name: str, kind: str, exchange: str | None, key: bool) -> AccountOut:
    return AccountOut(account_id=account_id, owner=owner, name=name, kind=kind, exchange=exchange, api_key_stored=key,
                      currency=v.currency, value_bid=v.value_bid, value_mid=v.value_mid, realized_pnl=v.realized_pnl,
                      unrealized_pnl=v.unrealized_pnl, unpriced=list(v.unpriced),
                      assets=list(v.assets))


@router.get("", response_model=Wallets, summary="Every account the caller sees, valued at the live best bid net of fees and at the mid")
def list_wallets(principal: WalletReader, ctx: Context) -> Wallets:
    scope, _ = _who(principal, ctx)
    s = store()
    ws = load_wallet_settings()
    accounts = s.accounts(scope)
    held = {a for acct in accounts for a, p in s.positions(scope, acct.account_id).items() if p.quantity > 0}
    spreads = latest_spreads(ctx.reads.live, ctx.reads.crypto_bucket, [f"{a}/{s.currency}" for a in sorted(held - {s.currency})],
                             timedelta(seconds=ws.price_max_age_s))
    now_ms = int(time.time() * 1000)
    vals = owner_valuations(s, scope, spreads, _fees(), now_ms, int(ws.price_max_age_s * 1000))
    out, totals = [], []
    for a in accounts:
        v = next(x for x in vals[a.owner] if x.account == a.name)
        out.append(_account_out(v, a.account_id, a.owner, a.name, a.kind, a.exchange, s.api_key_added_ms(scope, a.account_id) is not None))
    for owner, vs in sorted(vals.items()):
        total = next(x for x in vs if x.account == ALL_ACCOUNTS)
        totals.append(_account_out(total, 0, owner, ALL_ACCOUNTS, "total", None, False))
    return Wallets(valued_at=datetime.fromtimestamp(now_ms / 1000, UTC), accounts=out, totals=totals)


@router.get("/{account_id}/ledger", response_model=Ledger, summary="The ledger of one account, oldest first",
            responses={404: {"description": "no such account in the caller's scope"}})
def ledger(principal: WalletReader, ctx: Context, account_id: int) -> Ledger:
    scope, _ = _who(principal, ctx)
    try:
        stored = store().entries(scope, account_id)
    except WalletError as exc:
        raise not_found(str(exc)) from None
    return Ledger(account_id=account_id, entries=[EntryOut(
        entry_id=e.entry_id, source=e.source, time=datetime.fromtimestamp(e.entry.ts_ms / 1000, UTC), type=e.entry.kind,
        asset=e.entry.asset, quantity=e.entry.quantity, price=e.entry.price, quote=e.entry.quote, fee=e.entry.fee,
        fee_asset=e.entry.fee_asset, ref=e.entry.ref, note=e.entry.note) for e in stored])


@router.post("/{account_id}/entries", response_model=Added, status_code=201, summary="Add entries to one's own account (one transaction)",
             responses={404: {"description": "no such account of the caller"}, 422: {"description": "a row is refused; nothing stored"}})
def add_entries(principal: WalletWriter, ctx: Context, account_id: int, entries: list[EntryIn]) -> Added:
    scope, _ = _who(principal, ctx)
    s = store()
    try:
        account = s.account(scope, account_id)
    except WalletError as exc:
        raise not_found(str(exc)) from None
    user = load_users(ctx.settings.users_file).get(principal.subject.partition(":")[2])
    if user is None or not may_write(user, account.owner):
        raise not_found(f"no account {account_id}")
    new = [NewEntry(account_id, f"entry {i}", LedgerEntry(int(e.time.timestamp() * 1000), e.type, e.asset.upper(), e.quantity, e.price,
                                                           e.quote.upper() if e.quote else None, e.fee,
                                                           e.fee_asset.upper() if e.fee_asset else None, e.ref, e.note))
           for i, e in enumerate(entries)]
    try:
        added = s.add_entries(new, "api")
    except WalletError as exc:
        raise Problem(422, "ledger-refused", f"nothing stored: {exc}") from None
    return Added(account_id=account_id, added=added)


@router.get("/history", response_model=History, summary="Stored valuations (one a minute, jobs.wallet_valuation)")
def history(principal: WalletReader, ctx: Context,
            owner: Annotated[str | None, Query(description="default: the caller (a trader)")] = None,
            account: Annotated[str, Query(description="an account name, or * for all the owner's accounts")] = ALL_ACCOUNTS,
            start: Annotated[datetime | None, Query(alias="from", description="ISO 8601; default: API_DEFAULT_RANGE_H before to")] = None,
            stop: Annotated[datetime | None, Query(alias="to", description="ISO 8601; default: now")] = None) -> History:
    scope, me = _who(principal, ctx)
    who = owner or me
    if who is None or not scope.sees(who):
        raise not_found("no such wallet owner in the caller's scope")
    t0, t1 = time_window(ctx, start, stop, timedelta(hours=ctx.settings.default_range_h))
    df = valuation_history(ctx.reads.history, ctx.reads.crypto_bucket, scope, who, account, t0, t1)
    return History(owner=who, account=account, points=[HistoryPoint(time=r.time, value_bid=r.value_bid, value_mid=r.value_mid,
                                                                    realized_pnl=r.realized_pnl, unrealized_pnl=r.unrealized_pnl)
                                                       for r in df.itertuples(index=False)])
