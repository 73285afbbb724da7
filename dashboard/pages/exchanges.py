"""Exchange health: every exchange's latest window, worst first, so a failing one is the first thing seen."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from access.exchange_health_reads import health_counts, health_table
from dashboard import exchange_health_data
from dashboard.session import require_page
from dashboard.widgets import time_range

BAD = ("stopped", "failing", "stale")
COLORS = {"stopped": "#f8d0d0", "failing": "#f8d0d0", "stale": "#fde2c4", "slow": "#fff1b8", "degraded": "#fff1b8",
          "excluded": "#e4ecfa", "ok": "#dff3df"}

ctx = require_page("prices")
st.title("Exchange health")
st.caption("Per exchange and window (10 s by default): quotes per second, the share of its symbols with a quote under "
           "30 s old, the age of its newest quote, latency (receive time - exchange time), and the collector's errors, "
           "rate limits, timeouts and reconnects in the window. Worst first: stopped, failing, stale, slow, degraded, "
           "excluded (some symbols left out of the spreads, with the reason), ok (docs/exchange-health.md).")

latest = exchange_health_data.latest_health(ctx.scope, timedelta(minutes=15))
if latest.empty:
    st.info("No exchange health in the last 15 minutes: the exchange health flow writes a window once it has closed.")
    st.stop()

counts = health_counts(latest)
cols = st.columns(4)
cols[0].metric("Failing / stopped", counts["failing"] + counts["stopped"])
cols[1].metric("Stale", counts["stale"])
cols[2].metric("Slow / degraded", counts["slow"] + counts["degraded"])
cols[3].metric("OK / excluded", counts["ok"] + counts["excluded"])
bad = latest[latest["health"].isin(BAD)]
for r in bad.itertuples(index=False):
    st.error(f"**{r.exchange}** is {r.health}: {r.reason}")
if bad.empty:
    st.success(f"No exchange failing or stale ({len(latest)} exchanges).")

table = health_table(latest)
st.dataframe(table.style.apply(lambda row: [f"background-color: {COLORS.get(row['Health'], '')}"] * len(row), axis=1),
             key="exchanges_table", hide_index=True)

excluded = latest[(latest["excluded_outlier"].fillna(0) > 0) | (latest["excluded_stale"].fillna(0) > 0)]
st.subheader("Left out of the spreads")
if excluded.empty:
    st.text("No exchange is excluded from any symbol's best bid / ask.")
else:
    st.dataframe(pd.DataFrame({"Exchange": excluded["exchange"].astype(str),
                               "Outlier symbols": excluded["excluded_outlier"].astype(int).astype(str),
                               "Stale symbols": excluded["excluded_stale"].astype(int).astype(str),
                               "Why": excluded["exclusions"].astype(str)}), key="exchanges_excluded", hide_index=True)

st.subheader("History")
exchanges = [str(e) for e in latest["exchange"]]
chosen = st.multiselect("Exchanges", exchanges, default=exchanges[:3], key="exchanges_chosen")
start, stop = time_range("exchanges", "Last hour")
history = exchange_health_data.health_history(ctx.scope, start, stop)
if history.empty or not chosen:
    st.text("No windows in this range." if history.empty else "Choose exchanges to compare.")
else:
    st.plotly_chart(exchange_health_data.history_chart(history, chosen), key="exchanges_history")
