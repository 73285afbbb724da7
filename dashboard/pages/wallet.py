"""Wallet: a trader's holdings, value (at the best bid net of taker fees, and at the mid), FIFO P&L,
allocation, stored value history and the ledger, with add and CSV import (docs/wallets.md).

A trader sees and changes only their own accounts; an admin may read any trader's, changes
nothing and, like everyone, never sees an API key - only whether one is stored.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from access.wallet_reads import may_write, wallet_scope_for
from contracts.wallet import ACCOUNT_KINDS, ENTRY_KINDS, LedgerEntry, Valuation
from dashboard import wallet_data
from dashboard.session import require_page
from dashboard.widgets import for_display, time_range
from wallets.credentials import encrypt_credentials, load_or_create_fernet
from wallets.csv_import import import_csv
from wallets.exchange_import import import_exchange
from wallets.store import NewEntry, WalletError
from wallets.valuations import ALL_ACCOUNTS

ALL = "All accounts"
HOLDING_COLUMNS = ["Asset", "Quantity", "Value at bid", "Value at mid", "Cost", "Realized P&L", "Unrealized P&L", "Allocation %",
                   "Best bid on"]
LEDGER_COLUMNS = ["Entry", "Account", "Time", "Type", "Asset", "Quantity", "Price", "Fee", "Fee asset", "Ref", "Note", "Source"]

ctx = require_page("prices")
scope = wallet_scope_for(ctx.user)
store = wallet_data.store()
ws = wallet_data.settings()
st.title("Wallet")

accounts = store.accounts(scope)
owners = sorted({a.owner for a in accounts} | ({ctx.user.name} if scope.owner else set()))
if not owners:
    st.info("No trader has a wallet yet.")
    st.stop()
owner = owners[0] if len(owners) == 1 else st.selectbox("Trader", owners, key="wallet_owner")
mine = [a for a in accounts if a.owner == owner]
writable = may_write(ctx.user, owner)
if not writable:
    st.caption("Read only: only the trader changes their ledger. API keys are never shown.")


def _fmt(v: float | None, digits: str = ",.2f") -> str:
    return "unpriced" if v is None else format(v, digits)


def holdings_table(v: Valuation) -> pd.DataFrame:
    return pd.DataFrame([{"Asset": a.asset, "Quantity": f"{a.quantity:.10g}", "Value at bid": _fmt(a.value_bid),
                          "Value at mid": _fmt(a.value_mid), "Cost": f"{a.cost:,.2f}", "Realized P&L": f"{a.realized_pnl:,.2f}",
                          "Unrealized P&L": _fmt(a.unrealized_pnl), "Allocation %": _fmt(a.allocation_pct, ".2f"),
                          "Best bid on": a.price_exchange or ""} for a in v.assets], columns=HOLDING_COLUMNS)


def allocation_chart(v: Valuation) -> go.Figure:
    rows = [(a.asset, a.value_bid) for a in v.assets if a.value_bid and a.value_bid > 0]
    fig = go.Figure(go.Pie(labels=[r[0] for r in rows], values=[r[1] for r in rows], hole=0.4, sort=False))
    fig.update_layout(title=f"Allocation at the bid ({v.currency})", margin={"t": 40, "b": 0, "l": 0, "r": 0})
    return fig


def history_chart(h: pd.DataFrame, currency: str) -> go.Figure:
    fig = go.Figure()
    for col, name in (("value_bid", "value at bid"), ("value_mid", "value at mid"), ("unrealized_pnl", "unrealized P&L"),
                      ("realized_pnl", "realized P&L")):
        fig.add_trace(go.Scatter(x=h["time"], y=h[col], mode="lines", name=name))
    fig.update_layout(yaxis_title=currency, margin={"t": 10})
    return fig


if mine:
    names = [ALL, *[a.name for a in mine]]
    choice = st.selectbox("Account", names, key="wallet_account")
    vals = {v.account: v for v in wallet_data.valuations(scope, owner, int(time.time() * 1000))}
    v = vals[ALL_ACCOUNTS if choice == ALL else choice]
    c = st.columns(4)
    c[0].metric(f"Value at best bid ({v.currency})", f"{v.value_bid:,.2f}", help="what selling everything now would fetch, after taker fees")
    c[1].metric(f"Value at mid ({v.currency})", f"{v.value_mid:,.2f}")
    c[2].metric("Realized P&L (FIFO)", f"{v.realized_pnl:,.2f}")
    c[3].metric("Unrealized P&L", f"{v.unrealized_pnl:,.2f}")
    if v.unpriced:
        st.warning(f"No spread in the last {ws.price_max_age_s:.0f} s for {', '.join(v.unpriced)}: valued at nothing.")
    st.subheader("Holdings")
    st.dataframe(holdings_table(v), key="wallet_holdings", hide_index=True)
    if any(a.value_bid for a in v.assets):
        st.plotly_chart(allocation_chart(v), key="wallet_allocation")
    st.subheader("Value history")
    start, stop = time_range("wallet", "Last 24 hours")
    hist = wallet_data.history(scope, owner, None if choice == ALL else choice, start, stop)
    if hist.empty:
        st.text("No valuation stored in this range (jobs.wallet_valuation writes one a minute).")
    else:
        st.plotly_chart(history_chart(hist, v.currency), key="wallet_history")
    st.subheader("Ledger")
    shown = mine if choice == ALL else [a for a in mine if a.name == choice]
    rows = [{"Entry": s.entry_id, "Account": a.name, "Time": datetime.fromtimestamp(s.entry.ts_ms / 1000, UTC), "Type": s.entry.kind,
             "Asset": s.entry.asset, "Quantity": s.entry.quantity, "Price": s.entry.price, "Fee": s.entry.fee,
             "Fee asset": s.entry.fee_asset or "", "Ref": s.entry.ref or "", "Note": s.entry.note, "Source": s.source}
            for a in shown for s in store.entries(scope, a.account_id)]
    st.dataframe(for_display(pd.DataFrame(rows, columns=LEDGER_COLUMNS).sort_values("Time", ascending=False)), key="wallet_ledger", hide_index=True)
    exchange_accounts = [a for a in shown if a.kind == "exchange"]
    for a in exchange_accounts:
        added = store.api_key_added_ms(scope, a.account_id)
        st.text(f"{a.name} ({a.exchange}): " + (f"API key stored {datetime.fromtimestamp(added / 1000, UTC):%Y-%m-%d %H:%M} UTC"
                                               if added else "no API key stored"))
else:
    st.info("No account yet: create one, or import a CSV below.")

if writable:
    st.subheader("Add to the ledger")
    if mine:
        with st.form("wallet_add"):
            account_name = st.selectbox("Account", [a.name for a in mine], key="wallet_add_account")
            kind = st.selectbox("Type", ENTRY_KINDS, key="wallet_add_kind")
            asset = st.text_input("Asset", key="wallet_add_asset").strip().upper()
            quantity = st.number_input("Quantity", min_value=0.0, format="%.10g", key="wallet_add_quantity")
            price = st.number_input(f"Price ({store.currency}; a deposit's cost basis, 0 = unknown)", min_value=0.0, format="%.10g",
                                    key="wallet_add_price")
            fee = st.number_input("Fee", min_value=0.0, format="%.10g", key="wallet_add_fee")
            fee_asset = st.text_input(f"Fee asset (empty: {store.currency} for trades, the asset otherwise)", key="wallet_add_fee_asset")
            note = st.text_input("Note", key="wallet_add_note")
            if st.form_submit_button("Add entry"):
                account = next(a for a in mine if a.name == account_name)
                entry = LedgerEntry(int(time.time() * 1000), kind, asset, float(quantity), float(price) or None, None, float(fee),
                                    fee_asset.strip().upper() or None, None, note)
                try:
                    store.add_entries([NewEntry(account.account_id, "the new entry", entry)], "dashboard")
                except WalletError as exc:
                    st.error(f"Not added: {exc}")
                else:
                    st.success(f"Added: {kind} {quantity:g} {asset} to {account_name}")
    st.subheader("Import a CSV")
    st.caption("Columns: time, account, type, asset, quantity[, price, quote, fee, fee_asset, ref, note] (docs/wallets.md). "
               "One transaction: a bad row names its line and nothing is imported.")
    upload = st.file_uploader("CSV file", type=["csv"], key="wallet_csv_file")
    pasted = st.text_area("or paste CSV", key="wallet_csv_text")
    create = st.checkbox("Create accounts the file names", value=True, key="wallet_csv_create")
    if st.button("Import", key="wallet_csv_import"):
        text = upload.getvalue().decode("utf-8-sig") if upload is not None else pasted
        try:
            n = import_csv(store, owner, text, f"csv:{upload.name if upload is not None else 'dashboard'}", create)
        except WalletError as exc:
            st.error(f"Nothing imported: {exc}")
        else:
            st.success(f"Imported {n} ledger entries.")
    with st.expander("New account"):
        with st.form("wallet_new_account"):
            name = st.text_input("Name", key="wallet_new_name")
            kind_a = st.selectbox("Kind", ACCOUNT_KINDS, key="wallet_new_kind")
            exchange = st.text_input("Exchange (ccxt id, for an exchange account)", key="wallet_new_exchange")
            if st.form_submit_button("Create"):
                try:
                    store.create_account(owner, name.strip(), kind_a, exchange.strip() or None)
                except WalletError as exc:
                    st.error(str(exc))
                else:
                    st.success(f"Account {name} created.")
    exchange_mine = [a for a in mine if a.kind == "exchange"]
    if exchange_mine:
        with st.expander("Exchange API key and import"):
            with st.form("wallet_key"):
                target = st.selectbox("Exchange account", [a.name for a in exchange_mine], key="wallet_key_account")
                api_key = st.text_input("API key", type="password", key="wallet_key_api")
                secret = st.text_input("Secret", type="password", key="wallet_key_secret")
                password = st.text_input("Passphrase (if the exchange has one)", type="password", key="wallet_key_password")
                if st.form_submit_button("Store key (encrypted; it is never shown again)"):
                    account = next(a for a in exchange_mine if a.name == target)
                    creds = {"apiKey": api_key, "secret": secret, **({"password": password} if password else {})}
                    try:
                        store.set_api_key(account.account_id, encrypt_credentials(load_or_create_fernet(ws.key_file), creds))
                    except (WalletError, ValueError) as exc:
                        st.error(str(exc))
                    else:
                        st.success("Key stored.")
            if st.button("Import balance and trades now", key="wallet_exchange_import"):
                account = next(a for a in exchange_mine if a.name == st.session_state.get("wallet_key_account", exchange_mine[0].name))
                try:
                    r = asyncio.run(import_exchange(store, scope, account.account_id, load_or_create_fernet(ws.key_file)))
                except Exception as exc:  # noqa: BLE001 - an exchange's error is shown, never the key
                    st.error(f"Import failed, nothing stored: {type(exc).__name__}: {str(exc)[:300]}")
                else:
                    st.success(f"{r.trades} new trades, {r.transfers} balancing transfers, {r.added} entries added.")
