"""Price spreads: best bid / ask with exchanges, spread and arbitrage margin, exchange quotes, OHLC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import streamlit as st

from dashboard import data, maps
from dashboard.session import require_page
from dashboard.widgets import time_range

ctx = require_page("prices")
s = ctx.settings
st.title("Price spreads")

symbols = data.symbols(ctx.scope, timedelta(days=7))
if not symbols:
    st.info("No spreads stored in the last 7 days.")
    st.stop()
symbol = st.selectbox("Symbol", symbols, key="prices_symbol")
start, stop = time_range("prices", "Last hour")


@st.fragment(run_every=s.refresh_s)
def live_quotes() -> None:
    quotes = data.latest_quotes(ctx.scope, symbol, timedelta(days=1))
    now = datetime.now(UTC)
    if not quotes.empty:
        quotes["age_s"] = [(now - t).total_seconds() for t in pd.to_datetime(quotes["time"], utc=True)]
        quotes["stale"] = quotes["age_s"] > s.quote_stale_after_s
    latest = data.spreads(ctx.scope, symbol, timedelta(minutes=15), None, s.max_points).tail(1)
    c = st.columns(4)
    if not latest.empty:
        r = latest.iloc[0]
        c[0].metric("Best bid", f"{float(r['best_bid']):,.6g}", f"on {r.get('best_bid_exchange', '?')}", delta_color="off", delta_arrow="off")
        c[1].metric("Best ask", f"{float(r['best_ask']):,.6g}", f"on {r.get('best_ask_exchange', '?')}", delta_color="off", delta_arrow="off")
        c[2].metric("Spread %", f"{float(r['spread_pct']):.4f}")
        c[3].metric("Arbitrage after fees %", f"{float(r['arbitrage_pct_after_fees']):.4f}")
    else:
        st.text("No spread in the last 15 minutes.")
    st.subheader("Exchanges")
    cols = ["exchange", "bid", "ask", "last", "bid_size", "ask_size", "time", "age_s", "stale"]
    st.dataframe(quotes.reindex(columns=cols), key="prices_exchanges", hide_index=True)


live_quotes()

history = data.spreads(ctx.scope, symbol, start, stop, s.max_points)
st.subheader("Best bid and ask")
st.plotly_chart(maps.best_quotes(history), key="prices_best")
st.subheader("Spread and arbitrage margin")
st.plotly_chart(maps.spread_margin(history), key="prices_margin")

st.subheader("OHLC per exchange")
ohlc = data.ohlc(ctx.scope, symbol, None, start, stop, s.max_points)
exchanges = sorted({str(e) for e in ohlc["exchange"].dropna()}) if not ohlc.empty else []
if not exchanges:
    st.text("No OHLC in this range.")
else:
    for tab, exchange in zip(st.tabs(exchanges), exchanges, strict=True):
        with tab:
            st.plotly_chart(maps.candles(ohlc, exchange), key=f"candles_{exchange}")
