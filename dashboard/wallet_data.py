"""The Wallet page's data: the wallet store, the fee table, live prices and history behind Streamlit's caches."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import streamlit as st

from access import wallet_reads
from access.flux import TimeBound
from contracts.spread import SpreadRecord
from contracts.wallet import Valuation
from dashboard.data import run_history
from rules.crypto.fees import FeeTable, build_fee_table
from settings.rules_env import load_crypto_settings
from settings.stack import load_stack_settings
from wallets.config import WalletSettings, load_wallet_settings, open_wallet_store
from wallets.store import WalletScope, WalletStore
from wallets.valuations import owner_valuations


@st.cache_resource(show_spinner=False)
def _store(db_url: str, currency: str) -> WalletStore:
    return open_wallet_store(load_wallet_settings())


def settings() -> WalletSettings:
    return load_wallet_settings()


def store() -> WalletStore:
    """One migrated store per database URL and process (tests point WALLET_DB_URL at their own file)."""
    ws = load_wallet_settings()
    return _store(ws.db_url, ws.currency)


@st.cache_resource(show_spinner=False)
def fees() -> FeeTable:
    """ccxt's taker fees of the collected exchanges with the configured overrides (as the prices flow uses)."""
    c = load_crypto_settings()
    return build_fee_table(c.exchanges, c.taker_fees, c.default_taker_fee)


def live_spreads(symbols: list[str], max_age: timedelta) -> dict[str, SpreadRecord]:
    """The newest spread per symbol, through the history cache (so at most HISTORY_TTL_S = 30 s old on the page)."""
    return wallet_reads.latest_spreads(run_history, load_stack_settings().influx_bucket_crypto, symbols, max_age)


def valuations(scope: WalletScope, owner: str, now_ms: int) -> list[Valuation]:
    """Every account of ``owner`` and their total (account ``*``, last), valued at the live prices."""
    s = store()
    ws = load_wallet_settings()
    held = {a for acct in s.accounts(scope) if acct.owner == owner for a in s.positions(scope, acct.account_id)}
    spreads = live_spreads([f"{a}/{s.currency}" for a in sorted(held - {s.currency})], timedelta(seconds=ws.price_max_age_s))
    owner_scope = WalletScope(owner=owner) if scope.sees(owner) else WalletScope()
    return owner_valuations(s, owner_scope, spreads, fees(), now_ms, int(ws.price_max_age_s * 1000)).get(owner, [])


def history(scope: WalletScope, owner: str, account: str | None, start: TimeBound, stop: datetime | None) -> pd.DataFrame:
    return wallet_reads.valuation_history(run_history, load_stack_settings().influx_bucket_crypto, scope, owner, account, start, stop)
